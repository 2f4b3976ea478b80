// Package migrations holds the SQL schema of approvald, one numbered file per
// change and dialect. internal/store applies them in name order.
package migrations

import "embed"

// FS holds postgres/NNNN_name.sql and sqlite/NNNN_name.sql.
//
//go:embed postgres/*.sql sqlite/*.sql
var FS embed.FS
