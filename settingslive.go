package loam

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// SettingsCheck is how often, at most, an instance asks the database
// whether another instance changed the settings: the first request after
// it has passed reads the version (one small query) and, when it moved,
// the settings.
const SettingsCheck = time.Second

// SettingsSnapshot is one version of the settings, as every request of
// this instance reads them until the next change: the effective values
// (defaults with the stored overrides) and their parsed forms.
type SettingsSnapshot struct {
	// Version is the stored settings' version (0: never changed).
	Version int64
	// Settings are the effective values, the SMTP password included.
	Settings Settings
	stored   map[string]any // the overrides, as stored
	c        *compiledSettings
}

// Settings returns the current settings. It reads the database at most
// once per Config.SettingsPoll (SettingsCheck), to learn whether another
// instance changed them; a change made through this App is seen at once.
func (a *App) Settings(ctx context.Context) *SettingsSnapshot {
	snap := a.settings.Load()
	if a.settingsPoll < 0 {
		return snap
	}
	now := a.now().UnixMilli()
	next := a.settingsNext.Load()
	if now < next || !a.settingsNext.CompareAndSwap(next, now+a.settingsPoll.Milliseconds()) {
		return snap
	}
	v, err := a.store.SettingsVersion(ctx)
	if err != nil {
		if ctx.Err() == nil {
			a.log.Warn("settings version check failed", "err", err)
		}
		return snap
	}
	if v == snap.Version {
		return snap
	}
	if err := a.ReloadSettings(ctx); err != nil {
		if ctx.Err() == nil {
			a.log.Warn("settings reload failed", "err", err)
		}
	}
	return a.settings.Load()
}

// ReloadSettings reads the stored settings again and makes them current.
// Settings calls it when the stored version moved; a push from the database
// (LISTEN/NOTIFY) can call it too. It never goes back to an older version.
func (a *App) ReloadSettings(ctx context.Context) error {
	data, version, err := a.store.Settings(ctx)
	if err != nil {
		return fmt.Errorf("reload settings: %w", err)
	}
	var stored map[string]any
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.UseNumber()
	if err := dec.Decode(&stored); err != nil {
		return fmt.Errorf("reload settings: the stored settings: %w", err)
	}
	next, err := a.newSnapshot(version, stored)
	if CodeOf(err) == CodeValidationFailed {
		// The stored values do not hold over these defaults (a flag they
		// relied on is gone): run on the defaults, and keep the stored
		// values so that a PATCH merges into them and can fix them.
		a.log.Error("the stored settings are not valid over the defaults (flags): using the defaults until "+
			"PATCH /api/settings fixes them", "err", err)
		if next, err = a.newSnapshot(version, nil); err == nil {
			next.stored = stored
		}
	}
	if err != nil {
		return fmt.Errorf("reload settings: %w", err)
	}
	a.swapSettings(next)
	return nil
}

// swapSettings makes next current unless a newer version is.
func (a *App) swapSettings(next *SettingsSnapshot) {
	for {
		cur := a.settings.Load()
		if cur != nil && cur.Version > next.Version || a.settings.CompareAndSwap(cur, next) {
			return
		}
	}
}

// newSnapshot builds the snapshot of the stored overrides over the
// defaults; it fails when the result is not valid settings.
func (a *App) newSnapshot(version int64, stored map[string]any) (*SettingsSnapshot, error) {
	raw, err := json.Marshal(stored)
	if err != nil {
		return nil, fmt.Errorf("encode settings: %w", err)
	}
	eff, err := effectiveSettings(a.defaults, raw)
	if err != nil {
		return nil, err
	}
	c, err := compileSettings(&eff)
	if err != nil {
		return nil, err
	}
	return &SettingsSnapshot{Version: version, Settings: eff, stored: stored, c: c}, nil
}

// UpdateSettings applies change, a JSON object of the members to change
// (a JSON merge patch: objects merge, lists and values replace, null
// returns a member to its default), for superusers only. Bad members or
// values are a validation_failed *Error naming them ("smtp.port"), and
// nothing changes. The new settings are current on this instance at once
// and on the others within SettingsCheck.
func (a *App) UpdateSettings(ctx context.Context, who *Principal, change []byte) (*SettingsSnapshot, error) {
	if err := who.InArea(AreaSettings); err != nil {
		return nil, err
	}
	patch, err := checkSettingsChange(change)
	if err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		if err := a.ReloadSettings(ctx); err != nil {
			return nil, err
		}
		cur := a.settings.Load()
		stored := mergePatch(cloneJSON(cur.stored), patch)
		next, err := a.newSnapshot(cur.Version+1, stored)
		if err != nil {
			return nil, err
		}
		raw, err := json.Marshal(stored)
		if err != nil {
			return nil, fmt.Errorf("update settings: %w", err)
		}
		err = a.store.SaveSettings(ctx, raw, cur.Version, a.now())
		if errors.Is(err, ErrPreconditionFailed) && attempt < 3 {
			continue // another instance changed them meanwhile: merge into theirs
		}
		if err != nil {
			return nil, fmt.Errorf("update settings: %w", err)
		}
		a.swapSettings(next)
		return next, nil
	}
}

// SettingsFor returns the current settings for superusers only.
func (a *App) SettingsFor(ctx context.Context, who *Principal) (*SettingsSnapshot, error) {
	if err := who.InArea(AreaSettings); err != nil {
		return nil, err
	}
	return a.Settings(ctx), nil
}

// cloneJSON deep-copies a decoded JSON object.
func cloneJSON(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if sub, ok := v.(map[string]any); ok {
			v = cloneJSON(sub)
		}
		out[k] = v
	}
	return out
}

// Outbound returns the hosts outbound requests may reach.
func (s *SettingsSnapshot) Outbound() *Allowlist { return s.c.outbound }

// TrustedProxy reports whether addr is one of the trusted proxies.
func (s *SettingsSnapshot) TrustedProxy(addr netip.Addr) bool {
	addr = addr.Unmap()
	for _, p := range s.c.proxies {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// ClientIP returns the address of the client of a request that came from
// peer with the given X-Forwarded-For values: peer itself, unless peer is a
// trusted proxy; then the list is walked from the right (the hop nearest to
// us), skipping trusted proxies, and the first address that is not one is
// the client. A value that is not an address ends the walk: the last
// trusted hop is then the client, so a forged entry never wins.
func (s *SettingsSnapshot) ClientIP(peer netip.Addr, forwardedFor []string) netip.Addr {
	peer = peer.Unmap()
	if !s.TrustedProxy(peer) {
		return peer
	}
	client := peer
	for i := len(forwardedFor) - 1; i >= 0; i-- {
		hops := strings.Split(forwardedFor[i], ",")
		for j := len(hops) - 1; j >= 0; j-- {
			hop, err := netip.ParseAddr(strings.TrimSpace(hops[j]))
			if err != nil {
				return client
			}
			hop = hop.Unmap()
			if !s.TrustedProxy(hop) {
				return hop
			}
			client = hop
		}
	}
	return client
}

// CORSOrigin says whether browsers at origin may call the API: allow is
// the Access-Control-Allow-Origin to answer ("" when not allowed), and
// credentials whether credentials may be sent (for listed origins only,
// never under "*").
func (s *SettingsSnapshot) CORSOrigin(origin string) (allow string, credentials bool) {
	if origin == "" {
		return "", false
	}
	if s.c.origins[origin] {
		return origin, true
	}
	if s.c.anyOrigin {
		return "*", false
	}
	return "", false
}

// CORSEnabled reports whether any origin is allowed.
func (s *SettingsSnapshot) CORSEnabled() bool { return s.c.anyOrigin || len(s.c.origins) > 0 }

// Mail returns the parts of the settings a mail transport reads.
func (s *SettingsSnapshot) Mail() MailSettings {
	return MailSettings{SMTP: s.Settings.SMTP, Sender: s.Settings.Sender}
}

// maxRateWindow returns the longest window of the rate limits (0: none).
func (s *SettingsSnapshot) maxRateWindow() time.Duration {
	var w time.Duration
	for _, r := range s.c.limits {
		w = max(w, r.window)
	}
	return w
}
