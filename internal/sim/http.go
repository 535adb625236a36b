package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	databasev1 "github.com/banyan-backup/banyan-backup/api/gen/banyandb/database/v1"
)

// maxBody bounds the request bodies the HTTP API reads.
const maxBody = 1 << 20

// httpHandler serves the HTTP API: the server's (paths under /api) and the
// simulator's own (/sim).
func (s *Server) httpHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/snapshot", s.handleSnapshot)
	mux.HandleFunc("POST /api/v1/snapshot", s.handleSnapshot)
	mux.HandleFunc("GET /api/v1/common/api/version", func(w http.ResponseWriter, _ *http.Request) {
		writeProtoJSON(w, s.apiVersion())
	})
	mux.HandleFunc("GET /api/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "SERVING")
	})
	mux.HandleFunc("GET /sim/stats", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, s.Stats())
	})
	mux.HandleFunc("GET /sim/faults", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, s.Faults())
	})
	mux.HandleFunc("POST /sim/faults", s.handleSetFaults)
	mux.HandleFunc("GET /sim/cluster", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, s.ClusterState())
	})
	return mux
}

// handleSnapshot serves /api/v1/snapshot: a JSON SnapshotRequest body
// ({} or none means every group), a JSON SnapshotResponse answer with
// every field present, as in {"snapshots":[{"catalog":"CATALOG_MEASURE",
// "name":"…","error":""}]}. The connection faults hijack the connection
// and close it without an answer.
func (s *Server) handleSnapshot(w http.ResponseWriter, r *http.Request) {
	f := s.faults.get()
	if f.DropConnection {
		s.stats.snapshotCalls.Add(1)
		hijackAndClose(w)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		writeAPIError(w, http.StatusBadRequest, codes.InvalidArgument, fmt.Sprintf("cannot read request: %v", err))
		return
	}
	req := &databasev1.SnapshotRequest{}
	if len(bytes.TrimSpace(body)) > 0 {
		if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(body, req); err != nil {
			writeAPIError(w, http.StatusBadRequest, codes.InvalidArgument, fmt.Sprintf("cannot parse request: %v", err))
			return
		}
	}
	resp, err := s.Snapshot(r.Context(), req)
	if err != nil {
		writeAPIError(w, http.StatusServiceUnavailable, codes.Unavailable, err.Error())
		return
	}
	if f.DropAfterSnapshot {
		hijackAndClose(w)
		return
	}
	writeProtoJSON(w, resp)
}

// handleSetFaults replaces the faults with the JSON body (see Faults) and
// answers the faults now in force.
func (s *Server) handleSetFaults(w http.ResponseWriter, r *http.Request) {
	var f Faults
	dec := json.NewDecoder(io.LimitReader(r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": fmt.Sprintf("cannot parse faults: %v", err)})
		return
	}
	if err := s.SetFaults(f); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, s.Faults())
}

// hijackAndClose takes over the HTTP connection and closes it, so that the
// client gets no answer at all.
func hijackAndClose(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler) // aborts the connection without an answer
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	conn.Close()
}

// writeProtoJSON writes m as compact protojson with enum names and every
// field present.
func writeProtoJSON(w http.ResponseWriter, m proto.Message) {
	b, err := MarshalJSON(m)
	if err != nil {
		writeAPIError(w, http.StatusInternalServerError, codes.Internal, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

// MarshalJSON encodes m as the HTTP API does: protojson with enum names and
// unpopulated fields, compacted (protojson varies its spacing on purpose).
func MarshalJSON(m proto.Message) ([]byte, error) {
	b, err := (protojson.MarshalOptions{EmitUnpopulated: true}).Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("cannot encode answer: %w", err)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return nil, fmt.Errorf("cannot encode answer: %w", err)
	}
	return buf.Bytes(), nil
}

// writeAPIError writes an error the way BanyanDB's HTTP gateway does.
func writeAPIError(w http.ResponseWriter, httpStatus int, code codes.Code, msg string) {
	writeJSON(w, httpStatus, map[string]any{"code": int(code), "message": msg, "details": []any{}})
}

// writeJSON writes v as JSON with the given status.
func writeJSON(w http.ResponseWriter, httpStatus int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		httpStatus, b = http.StatusInternalServerError, []byte(`{"error":"cannot encode answer"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(httpStatus)
	_, _ = w.Write(append(b, '\n'))
}
