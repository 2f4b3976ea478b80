package authenticator

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
)

// WebPushSubscription is a Web Push subscription as a browser's
// PushSubscription.toJSON() gives it (or a UnifiedPush distributor's
// endpoint and keys): the push service's URL and the keys, base64url, the
// server encrypts for.
type WebPushSubscription struct {
	Endpoint string `json:"endpoint"`
	Keys     struct {
		P256dh string `json:"p256dh"`
		Auth   string `json:"auth"`
	} `json:"keys"`
}

// DeviceInfo is the device as its owner's device list shows it.
type DeviceInfo struct {
	DeviceID string `json:"device_id"`
	Name     string `json:"name"`
	Push     bool   `json:"push"`
	WebPush  bool   `json:"web_push"`
}

func webPushPath(deviceID string) string {
	return "/api/v1/devices/" + url.PathEscape(deviceID) + "/web-push"
}

// SetWebPush gives the server this device's new Web Push subscription,
// which replaces the one it had: the next push goes there.
func (c *Client) SetWebPush(ctx context.Context, sub WebPushSubscription) (DeviceInfo, error) {
	body, err := json.Marshal(struct {
		WebPush WebPushSubscription `json:"web_push"`
	}{sub})
	if err != nil {
		return DeviceInfo{}, err
	}
	var d DeviceInfo
	err = c.signed(ctx, http.MethodPut, webPushPath(c.State.DeviceID), body, &d)
	return d, err
}

// DropWebPush drops this device's Web Push subscription: it pulls from then
// on (or keeps its push_url).
func (c *Client) DropWebPush(ctx context.Context) error {
	return c.signed(ctx, http.MethodDelete, webPushPath(c.State.DeviceID), nil, nil)
}
