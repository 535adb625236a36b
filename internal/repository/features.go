package repository

import (
	"bytes"
	"context"
	"fmt"
	"slices"
)

// Features of format 3 (docs/repository-format.md, "Features").
const (
	// FeatureSets: the repository may hold backup sets (sets/<id>), whose
	// member backups must be kept and forgotten together.
	FeatureSets = "sets"
)

// knownFeatures are the features this release knows.
var knownFeatures = []string{FeatureSets}

// HasFeature reports whether the repository's config names feature.
func (c Config) HasFeature(feature string) bool { return slices.Contains(c.Features, feature) }

// checkFeatures refuses features before format 3, and features this
// release does not know: a release that ignored them could misread the
// repository (forget half of a set).
func (c Config) checkFeatures(location string) error {
	switch {
	case len(c.Features) > 0 && c.Version < formatFeatures:
		return fmt.Errorf("%w: config of %s names features at format %d; features need format %d", ErrIntegrity, location, c.Version, formatFeatures)
	case len(c.Features) == 0 && c.Version == formatFeatures:
		return fmt.Errorf("%w: config of %s has format %d and no feature", ErrIntegrity, location, formatFeatures)
	}
	for i, f := range c.Features {
		if !slices.Contains(knownFeatures, f) {
			return fmt.Errorf("%w: repository %s uses feature %q, which this release does not know: upgrade banyan-backup", ErrUnsupportedFormat, location, f)
		}
		if i > 0 && c.Features[i-1] >= f {
			return fmt.Errorf("%w: config of %s lists its features out of order or twice", ErrIntegrity, location)
		}
	}
	return nil
}

// EnableFeature adds feature to the repository's config, moving it to
// format 3: releases that know only formats 1 and 2 refuse it from then on,
// and so never misread what the feature brings. It rewrites `config` in
// place (the only object ever replaced), keeping its id, so every key
// still opens the repository. lock must be an exclusive lock of r, so that
// no other command runs while the config changes. A feature already
// enabled is not an error.
func (r *Repository) EnableFeature(ctx context.Context, lock *Lock, feature string) error {
	if !slices.Contains(knownFeatures, feature) {
		return fmt.Errorf("cannot enable feature %q: this release does not know it", feature)
	}
	if err := r.checkExclusive(lock, "enable feature "+feature); err != nil {
		return err
	}
	if err := lock.Check(ctx); err != nil {
		return err
	}
	cfg, err := loadConfig(ctx, r.be)
	if err != nil {
		return err
	}
	if cfg.ID != r.cfg.ID {
		return fmt.Errorf("%w: the config of %s changed its id since it was opened", ErrIntegrity, r.be.Location())
	}
	if cfg.HasFeature(feature) {
		r.cfg = cfg
		return nil
	}
	cfg.Version = formatFeatures
	cfg.Features = append(cfg.Features, feature)
	slices.Sort(cfg.Features)
	data, err := encodeConfig(cfg)
	if err != nil {
		return err
	}
	if err := r.be.Put(ctx, configName, int64(len(data)), bytes.NewReader(data)); err != nil {
		return fmt.Errorf("cannot write config to %s: %w", r.be.Location(), err)
	}
	r.cfg = cfg
	return nil
}

// requireFeature fails unless the repository's config names feature.
func (r *Repository) requireFeature(feature, what string) error {
	if !r.cfg.HasFeature(feature) {
		return fmt.Errorf("cannot %s: repository %s does not have the %q feature: enable it first (format 3)", what, r.be.Location(), feature)
	}
	return nil
}
