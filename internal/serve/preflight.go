package serve

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/snapshot"
)

// Problem is one thing a job needs that is not there.
type Problem struct {
	Job string `json:"job"`
	// Field is the config field the problem is about, as in ConfigError.
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (p Problem) String() string { return fmt.Sprintf("job %s: %s: %s", p.Job, p.Field, p.Message) }

// Preflight checks what each job's config names: its data roots hold a
// BanyanDB data directory, each repository opens, and its node answers.
// serve --check runs it, so that a config naming a missing root, a
// repository nobody has initialised or a wrong node address fails before
// the first scheduled run does.
func (s *Server) Preflight(ctx context.Context) []Problem {
	var out []Problem
	for i, j := range s.jobs {
		p := fmt.Sprintf("jobs[%d]", i)
		add := func(field, msg string) { out = append(out, Problem{Job: j.cfg.Name, Field: p + field, Message: msg}) }
		src := j.cfg.Source
		if src.Cluster != nil {
			if field, msg := checkCluster(ctx, src.Cluster); msg != "" {
				add(field, msg)
			}
		} else if field, msg := checkRoots(src); msg != "" {
			add(field, msg)
		}
		for k, rc := range j.cfg.Repositories {
			repo, err := s.openRepo(ctx, rc.URL, nil)
			if err != nil {
				add(fmt.Sprintf(".repositories[%d]", k), s.redact.String(err.Error()))
				continue
			}
			_ = repo.Close()
		}
		if src.Node != "" {
			opts := src.nodeOptions()
			opts.Retries = 0
			if err := pingNode(ctx, opts); err != nil {
				add(".source.node", err.Error())
			}
		}
	}
	return out
}

// checkRoots returns the field and a message when the job's roots name no
// catalog data directory, or a per-catalog root that does not exist.
func checkRoots(src SourceConfig) (field, msg string) {
	roots := banyandb.Roots{Root: src.Root, Override: map[banyandb.Catalog]string{}}
	for k, v := range src.Roots {
		c, _ := banyandb.ParseCatalog(k) // checked by LoadConfig
		roots.Override[c] = v
		if _, err := os.Stat(v); err != nil {
			return ".source.roots." + k, fmt.Sprintf("cannot use %s root %s: %v", c, v, err)
		}
	}
	if src.Root != "" {
		if _, err := os.Stat(src.Root); err != nil {
			return ".source.root", fmt.Sprintf("cannot use data root: %v", err)
		}
	}
	cats := src.catalogs
	if len(cats) == 0 {
		cats = banyandb.AllCatalogs()
	}
	var looked []string
	for _, c := range cats {
		dir := roots.DataDir(c)
		fi, err := os.Stat(dir)
		if err == nil && fi.IsDir() {
			return "", ""
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return ".source.root", fmt.Sprintf("cannot use %s: %v", dir, err)
		}
		looked = append(looked, dir)
	}
	slices.Sort(looked)
	return ".source.root", fmt.Sprintf("%v: none of %v exists; give the directory the server was given as --measure-root-path and the other root flags", banyandb.ErrNotRoot, looked)
}

// pingNode asks the node for its API version within its connect timeout.
func pingNode(ctx context.Context, opts snapshot.Options) error {
	c, err := snapshot.Dial(ctx, opts)
	if err != nil {
		return err
	}
	defer c.Close()
	callCtx, cancel := context.WithTimeout(ctx, opts.ConnectTimeout+5*time.Second)
	defer cancel()
	_, err = c.APIVersion(callCtx)
	return err
}

// DefaultNodeRetries is how many more times a run tries a node it cannot
// reach, by default: with the default wait, for about 70 s (a node
// restarting, a pod rescheduled).
const DefaultNodeRetries = 3

// nodeOptions are the snapshot client's options for the job's node.
func (s SourceConfig) nodeOptions() snapshot.Options {
	retries := DefaultNodeRetries
	if s.NodeRetries != nil {
		retries = *s.NodeRetries
	}
	return snapshot.Options{Node: s.Node, TLS: s.TLS, CACert: s.CACert, InsecureSkipVerify: s.InsecureSkipVerify,
		ConnectTimeout: time.Duration(s.ConnectTimeout), CallTimeout: time.Duration(s.CallTimeout),
		Retries: retries, RetryWait: time.Duration(s.NodeRetryWait)}
}
