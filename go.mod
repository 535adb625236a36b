module github.com/banyan-backup/banyan-backup

go 1.26.8

require (
	github.com/klauspost/compress v1.18.0
	github.com/spf13/cobra v1.9.1
	github.com/zeebo/blake3 v0.2.4
	golang.org/x/sys v0.48.0
	google.golang.org/grpc v1.85.0
	google.golang.org/protobuf v1.36.12
)

require (
	github.com/inconshreveable/mousetrap v1.1.0 // indirect
	github.com/klauspost/cpuid/v2 v2.0.12 // indirect
	github.com/restic/chunker v0.4.0 // indirect
	github.com/spf13/pflag v1.0.6 // indirect
	golang.org/x/net v0.60.0 // indirect
	golang.org/x/text v0.42.0 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20260817212433-ac3dfec99bb1 // indirect
)
