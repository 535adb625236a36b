package restore

// SetStepHook makes a restore call hook after each step that changes the
// target or its staging directory (a marker written, a directory created,
// an entry renamed or removed), with the step's name. An error the hook
// returns stops the restore there, with nothing cleaned up: a kill at that
// point.
func SetStepHook(o *Options, hook func(step string) error) { o.stepHook = hook }
