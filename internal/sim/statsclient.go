package sim

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
)

// FetchStats reads the counters of the simulator whose HTTP API listens
// on addr (host:port), as tests and benchmarks watch it.
func FetchStats(ctx context.Context, addr string) (Stats, error) {
	var st Stats
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/sim/stats", nil)
	if err != nil {
		return st, fmt.Errorf("cannot read simulator stats: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return st, fmt.Errorf("cannot read simulator stats: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return st, fmt.Errorf("cannot read simulator stats: %s", resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return st, fmt.Errorf("cannot read simulator stats: %w", err)
	}
	return st, nil
}
