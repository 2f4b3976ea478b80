package approval

// OfferedTo is offeredTo for the table that holds it to the store's SQL.
var OfferedTo = offeredTo
