package store

import (
	"context"
	"testing"
)

// Two processes started together on an empty database both come up, and
// the schema is applied once.
func TestMigrateConcurrentOnFreshDatabase(t *testing.T) {
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			url := testURL(t, d)
			dbs := []*DB{mustOpenURL(t, url), mustOpenURL(t, url), mustOpenURL(t, url)}
			errs := make([]error, len(dbs))
			concurrently(len(dbs), func(i int) { errs[i] = dbs[i].Migrate(ctx) })
			for i, err := range errs {
				if err != nil {
					t.Fatalf("Migrate %d: %v", i, err)
				}
			}

			files, err := migrationFiles(d)
			must(t, err)
			n, err := dbs[0].bun.NewSelect().Table("schema_migrations").Count(ctx)
			must(t, err)
			if int(n) != len(files) {
				t.Fatalf("schema_migrations has %d rows, want %d", n, len(files))
			}
			// Applied means usable, and a later Migrate is a no-op.
			must(t, dbs[1].Migrate(ctx))
			verifiedUser(t, dbs[2], "")
		})
	}
}
