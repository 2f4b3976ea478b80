package approval

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/signing"
)

// A device may hold a websocket (GET /api/v1/devices/{id}/ws) and hear at
// once each approval offered to it and each change of one. Everything for a
// device goes on its own broker channel, DeviceTopic; each instance's hub
// passes it to the device's websockets there.

// DeviceTopic is the broker channel of one device.
func DeviceTopic(deviceID string) string { return "device:" + deviceID }

// DeviceWSTicketTTL is the default life of a device websocket ticket
// (Config.DeviceWSTicketTTL).
const DeviceWSTicketTTL = 30 * time.Second

// DeviceWSSignMethod is the method of the canonical string a server signs
// an approval frame of a device websocket with (signing.Canonical): not an
// HTTP method, so a frame's signature never passes for a signed request's.
// Its path is PUBLIC_URL's path + /api/v1/devices/{id}/ws, no query.
const DeviceWSSignMethod = "WS"

// DeviceFrame is one message of a device websocket, as the broker carries
// it and as the device receives it.
type DeviceFrame struct {
	// Type is "pending" (on connect and after a resync: Approvals lists
	// what the pull endpoint lists), "approval" (a new approval offered to
	// the device: Body is the push request's JSON, signed by the server as
	// Timestamp, Nonce and Signature say), "status" (a change of an
	// approval: ApprovalID, Status, Reason, ExpiresAt) or "device_removed"
	// (the device was removed; the server closes the websocket).
	Type      string        `json:"type"`
	Approvals []PushRequest `json:"approvals,omitempty"`
	Body      string        `json:"body,omitempty"`
	Timestamp string        `json:"timestamp,omitempty"`
	Nonce     string        `json:"nonce,omitempty"`
	Signature string        `json:"signature,omitempty"`
	// KeyID names the push key that signed an "approval" frame (as a push's
	// X-Key-Id header does), so a device in a rotation picks its pin.
	KeyID      string     `json:"kid,omitempty"`
	ApprovalID string     `json:"approval_id,omitempty"`
	Status     string     `json:"status,omitempty"`
	Reason     string     `json:"reason,omitempty"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
	DeviceID   string     `json:"device_id,omitempty"`
}

// Device frame types.
const (
	DeviceFramePending  = "pending"
	DeviceFrameApproval = "approval"
	DeviceFrameStatus   = "status"
	DeviceFrameRemoved  = "device_removed"
)

// DeviceWSPath is the path (after PUBLIC_URL's path) a device websocket
// frame is signed over.
func DeviceWSPath(deviceID string) string { return "/api/v1/devices/" + deviceID + "/ws" }

// signedApprovalFrame is the frame offering a to d, signed by the server
// over the push request's exact bytes (a push's, next_key included).
func (s *Service) signedApprovalFrame(a *core.Approval, d *core.Device, now time.Time) []byte {
	body, _ := json.Marshal(s.devicePush(a, d))
	kid, key := s.deviceSigningKey()
	h := signing.Sign(key, DeviceWSSignMethod, s.Config.PathPrefix+DeviceWSPath(d.ID), "", body, now)
	b, _ := json.Marshal(DeviceFrame{Type: DeviceFrameApproval, Body: string(body), Timestamp: h.Timestamp, Nonce: h.Nonce,
		Signature: h.Signature, KeyID: kid})
	return b
}

// publishDevice hands payload to the device's websockets, here first.
func (s *Service) publishDevice(ctx context.Context, deviceID string, payload []byte) {
	channel := DeviceTopic(deviceID)
	if s.Local != nil {
		s.Local.Deliver(channel, payload)
	}
	if err := s.Broker.Publish(ctx, channel, payload); err != nil {
		s.Log.WarnContext(ctx, "device publish failed", "device_id", deviceID, "err", err)
	}
}

// offerToSockets announces a just started approval to each of devices'
// websockets (before any push goes out: the websocket is the fast path).
func (s *Service) offerToSockets(ctx context.Context, a *core.Approval, devices []*core.Device) {
	now := s.Clock.Now()
	for _, d := range devices {
		if offeredTo(a, d) {
			s.publishDevice(ctx, d.ID, s.signedApprovalFrame(a, d, now))
		}
	}
}

// changeFrame is the status frame of a change of a as a reader sees it at now.
func changeFrame(a *core.Approval, now time.Time) []byte {
	v := ViewAt(a, now)
	f := DeviceFrame{Type: DeviceFrameStatus, ApprovalID: a.ID, Status: string(v.Status), Reason: v.Reason}
	if v.Status == core.ApprovalPending {
		exp := v.ExpiresAt.UTC()
		f.ExpiresAt = &exp
	}
	b, _ := json.Marshal(f)
	return b
}

// announceToDevices tells the websockets of the devices the approvals were
// offered to of their change. It runs after the browsers were told, and
// reads each user's devices once; approvals never offered to a device
// (pushed to none) cost nothing.
func (s *Service) announceToDevices(ctx context.Context, now time.Time, approvals ...*core.Approval) {
	byUser := map[string][]*core.Device{}
	for _, a := range approvals {
		if a.PushSentAt == nil || a.UserID == core.PlaceholderUserID {
			continue
		}
		devices, ok := byUser[a.UserID]
		if !ok {
			var err error
			if devices, err = s.Devices.DevicesByUser(ctx, a.UserID); err != nil {
				s.Log.WarnContext(ctx, "devices not told of a change", "approval_id", a.ID, "err", err)
				continue
			}
			byUser[a.UserID] = devices
		}
		payload := changeFrame(a, now)
		for _, d := range devices {
			if offeredTo(a, d) {
				s.publishDevice(ctx, d.ID, payload)
			}
		}
	}
}

// DeviceRemoved tells the removed device's websockets, which then close.
func (s *Service) DeviceRemoved(ctx context.Context, deviceID string) {
	b, _ := json.Marshal(DeviceFrame{Type: DeviceFrameRemoved, DeviceID: deviceID})
	s.publishDevice(ctx, deviceID, b)
}

// IssueDeviceWSTicket makes a single-use ticket that opens dev's websocket
// within DeviceWSTicketTTL; the KV keeps its hash, its device and its
// expiry (checked against the service's clock).
func (s *Service) IssueDeviceWSTicket(ctx context.Context, dev *core.Device) (string, time.Duration, error) {
	ticket := core.NewSecret(32)
	ttl := s.ticketTTL()
	exp := s.Clock.Now().Add(ttl)
	val := dev.ID + " " + strconv.FormatInt(exp.UnixNano(), 10)
	// The KV's own TTL only clears it away: a margin covers clock skew
	// between the KV and this instance.
	if ok, err := s.KV.SetNX(ctx, deviceTicketKey(ticket), val, ttl+time.Minute); err != nil {
		return "", 0, err
	} else if !ok {
		return "", 0, core.Errorf(core.EInternal, "ticket collision")
	}
	return ticket, ttl, nil
}

// ticketTTL is Config.DeviceWSTicketTTL, or the default when unset.
func (s *Service) ticketTTL() time.Duration {
	if s.Config.DeviceWSTicketTTL > 0 {
		return s.Config.DeviceWSTicketTTL
	}
	return DeviceWSTicketTTL
}

var errBadDeviceTicket = core.Errorf(core.EUnauthorized, "a valid device websocket ticket is required")

// UseDeviceWSTicket spends ticket for the websocket of deviceID, once: an
// unknown, expired, spent or another device's ticket is the same 401. It
// returns the device, which must still be enrolled.
func (s *Service) UseDeviceWSTicket(ctx context.Context, deviceID, ticket string) (*core.Device, error) {
	if ticket == "" || len(ticket) > 128 || !core.HasPrefix(deviceID, core.PrefixDevice) {
		return nil, errBadDeviceTicket
	}
	key := deviceTicketKey(ticket)
	val, ok, err := s.KV.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errBadDeviceTicket
	}
	id, expText, _ := strings.Cut(val, " ")
	exp, perr := strconv.ParseInt(expText, 10, 64)
	if perr != nil || subtle.ConstantTimeCompare([]byte(id), []byte(deviceID)) != 1 || !s.Clock.Now().Before(time.Unix(0, exp)) {
		return nil, errBadDeviceTicket
	}
	// Spent once: the first to mark it used wins.
	if first, err := s.KV.SetNX(ctx, key+":used", "1", s.ticketTTL()+time.Minute); err != nil {
		return nil, err
	} else if !first {
		return nil, errBadDeviceTicket
	}
	_ = s.KV.Del(ctx, key)
	dev, err := s.Devices.Device(ctx, deviceID)
	if core.IsCode(err, core.ENotFound) {
		return nil, errBadDeviceTicket
	}
	return dev, err
}

func deviceTicketKey(ticket string) string { return "devwsticket:" + HashTicket(ticket) }

// DevicePending is what the pull endpoint lists for deviceID, for a device
// websocket on connect and after a resync; removed is true (and the list
// nil) when the device is no longer enrolled.
func (s *Service) DevicePending(ctx context.Context, deviceID string) (list []PushRequest, removed bool, err error) {
	dev, err := s.Devices.Device(ctx, deviceID)
	if core.IsCode(err, core.ENotFound) {
		return nil, true, nil
	}
	if err != nil {
		return nil, false, err
	}
	list, err = s.Pending(ctx, dev)
	return list, false, err
}
