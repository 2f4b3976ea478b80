package approval

// The rules whose conditions the store repeats in SQL, for the tables that
// hold the two together.
var (
	OfferedTo      = offeredTo
	Decision       = decision
	Supersedable   = supersedable
	ExpireDue      = expireDue
	PushTimeoutDue = pushTimeoutDue
)
