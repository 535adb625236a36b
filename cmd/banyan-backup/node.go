package main

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/banyan-backup/banyan-backup/internal/backup"
	"github.com/banyan-backup/banyan-backup/internal/snapshot"
)

// nodeFlags say how to reach a running node's snapshot API.
type nodeFlags struct {
	addr               string
	tls                bool
	caCert             string
	insecureSkipVerify bool
	connectTimeout     time.Duration
	retries            int
	retryWait          time.Duration
	callTimeout        time.Duration
	groups             []string
	keepSnapshot       bool
}

func (n *nodeFlags) add(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&n.addr, "node", "", "running node to snapshot: HOST:PORT for gRPC (port 17912), or http(s)://HOST:PORT for the HTTP API (17913)")
	f.BoolVar(&n.tls, "tls", false, "use TLS for gRPC")
	f.StringVar(&n.caCert, "ca-cert", "", "PEM file of the CA that signed the node's certificate")
	f.BoolVar(&n.insecureSkipVerify, "insecure-skip-verify", false, "do not verify the node's TLS certificate")
	f.DurationVar(&n.connectTimeout, "connect-timeout", snapshot.DefaultConnectTimeout, "how long to try to reach the node")
	f.IntVar(&n.retries, "node-retries", 0, "when the node cannot be reached, try again this many times, waiting --node-retry-wait, then twice as long each time")
	f.DurationVar(&n.retryWait, "node-retry-wait", snapshot.DefaultRetryWait, "wait before the first retry of an unreachable node")
	f.DurationVar(&n.callTimeout, "call-timeout", snapshot.DefaultCallTimeout, "how long the node may take to answer one call")
	f.StringSliceVar(&n.groups, "group", nil, "groups to back up: GROUP, or CATALOG/GROUP for one catalog (repeatable; default all)")
	f.BoolVar(&n.keepSnapshot, "keep-snapshot", false, "leave the node's snapshot directories in place after the backup")
}

func (n *nodeFlags) live() backup.LiveOptions {
	return backup.LiveOptions{
		Node: snapshot.Options{Node: n.addr, TLS: n.tls, CACert: n.caCert, InsecureSkipVerify: n.insecureSkipVerify,
			ConnectTimeout: n.connectTimeout, CallTimeout: n.callTimeout, Retries: n.retries, RetryWait: n.retryWait},
		Groups: n.groups, KeepSnapshot: n.keepSnapshot,
	}
}
