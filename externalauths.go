package loam

import (
	"context"
)

// linkOwner returns c when who may see and remove the external auths of
// the record id: the record itself, or a superuser. The record must exist.
func (a *App) linkOwner(ctx context.Context, who *Principal, collection, id string) (*Collection, error) {
	c, err := a.authCollection(collection)
	if err != nil {
		return nil, err
	}
	if !isSelf(who, c, id) {
		if err := allow(who, nil, "managing the external auths of others"); err != nil {
			return nil, err
		}
	}
	if _, err := a.store.GetRecord(ctx, c, id); err != nil {
		return nil, err
	}
	return c, nil
}

// ExternalAuths lists the provider accounts linked to the record id of
// collection, oldest first: for the record itself and for superusers
// (others are unauthenticated or forbidden).
func (a *App) ExternalAuths(ctx context.Context, who *Principal, collection, id string) ([]*ExternalAuth, error) {
	c, err := a.linkOwner(ctx, who, collection, id)
	if err != nil {
		return nil, err
	}
	return a.store.ExternalAuths(ctx, c.Name, id)
}

// UnlinkExternalAuth removes the link linkID from the record id: the
// account no longer signs that record in (a later sign-in with it may
// link it again by a verified email, or sign up). A link of another
// record is not_found.
func (a *App) UnlinkExternalAuth(ctx context.Context, who *Principal, collection, id, linkID string) error {
	c, err := a.linkOwner(ctx, who, collection, id)
	if err != nil {
		return err
	}
	return a.store.DeleteExternalAuth(ctx, c.Name, id, linkID)
}
