package approval_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/approvald/approvald/internal/approval"
	"github.com/approvald/approvald/internal/core"
)

// deviceReads counts the reads of one device by id.
type deviceReads struct {
	core.DeviceStore
	n atomic.Int64
}

func (r *deviceReads) Device(ctx context.Context, id string) (*core.Device, error) {
	r.n.Add(1)
	return r.DeviceStore.Device(ctx, id)
}

// TestLoadDeviceKeys: an instance that neither enrolled nor pushed to a
// device reads it on its callback, unless it loaded the devices' keys at
// start; then the callback decides without that read.
func TestLoadDeviceKeys(t *testing.T) {
	t.Parallel()
	for _, load := range []bool{false, true} {
		f := newFixture(t)
		ctx := context.Background()
		u := f.user(t)
		d, _ := f.device(t, u, "https://push.example/1")
		st := f.start(t, u)

		deps := f.deps
		reads := &deviceReads{DeviceStore: f.db}
		deps.Devices = reads
		other, err := approval.New(deps)
		ok(t, err)
		if load {
			ok(t, other.LoadDeviceKeys(ctx, f.db))
		}
		f.svc = other
		status, err := f.callback(t, ctx, d, approval.Callback{ApprovalID: st.Approval.ID, Decision: "approve", MatchNumber: &st.Approval.MatchNumber})
		ok(t, err)
		if status != core.ApprovalApproved {
			t.Fatalf("load %v: status %s; want approved", load, status)
		}
		if want := map[bool]int64{false: 1, true: 0}[load]; reads.n.Load() != want {
			t.Fatalf("load %v: the device was read %d times; want %d", load, reads.n.Load(), want)
		}
	}
}
