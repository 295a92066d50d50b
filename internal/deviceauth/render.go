package deviceauth

import (
	"context"
	"net/http"

	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// render writes d as PingOne shows it, with the user's usable devices
// while it still asks for one.
func (s *Service) render(ctx context.Context, w http.ResponseWriter, code int, d *store.DeviceAuthentication, st *state) error {
	var devices []store.MFADevice
	if len(allowed[d.Status]) > 0 {
		u, err := s.user(ctx, d)
		if err != nil {
			return err
		}
		if devices, err = s.usableDevices(ctx, u, &st.Policy); err != nil {
			return err
		}
	}
	return s.write(ctx, w, code, d, st, devices)
}

func (s *Service) write(_ context.Context, w http.ResponseWriter, code int, d *store.DeviceAuthentication, st *state, devices []store.MFADevice) error {
	self := s.AuthPath + "/" + d.EnvironmentID + "/deviceAuthentications/" + d.ID
	links := wire.Links{"self": {Href: self}}
	for _, a := range allowed[d.Status] {
		if a == ActionCancel {
			continue // PingOne's examples link only device.select and otp.check
		}
		links[a] = wire.Href{Href: self}
	}
	out := wire.DeviceAuthentication{Links: links, ID: d.ID, Environment: wire.Ref{ID: d.EnvironmentID}, Status: d.Status,
		Policy: wire.Ref{ID: st.Policy.ID}, User: wire.Ref{ID: d.UserID}, Error: st.Error,
		CreatedAt: wire.Time(d.CreatedAt), UpdatedAt: wire.Time(d.UpdatedAt)}
	if st.DeviceID != "" {
		out.SelectedDevice = &wire.Ref{ID: st.DeviceID}
	}
	if len(allowed[d.Status]) > 0 {
		list := make([]wire.DeviceAuthenticationDevice, len(devices))
		for i, dev := range devices {
			list[i] = wire.DeviceAuthenticationDevice{ID: dev.ID, Type: dev.Type, Status: dev.Status, Nickname: dev.Nickname,
				Email: mfa.MaskEmail(dev.Email), Phone: mfa.MaskPhone(dev.Phone)}
		}
		out.Embedded = &wire.DeviceAuthenticationEmbedded{Devices: list}
	}
	w.Header().Set("Cache-Control", "no-store")
	wire.Write(w, code, out)
	return nil
}
