module github.com/banyan-backup/banyan-backup/deploy

go 1.26.8
