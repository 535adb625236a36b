package deploy

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"
)

// manifests are the decoded objects of deploy/kubernetes, by kind and name.
type manifests struct {
	statefulSets map[string]*appsv1.StatefulSet
	cronJobs     map[string]*batchv1.CronJob
	services     map[string]*corev1.Service
	configMaps   map[string]*corev1.ConfigMap
	secrets      map[string]*corev1.Secret
}

// loadManifests decodes every document of every YAML file strictly into
// its Kubernetes API type: an unknown kind or an unknown field fails.
func loadManifests(t *testing.T) *manifests {
	t.Helper()
	m := &manifests{statefulSets: map[string]*appsv1.StatefulSet{}, cronJobs: map[string]*batchv1.CronJob{},
		services: map[string]*corev1.Service{}, configMaps: map[string]*corev1.ConfigMap{}, secrets: map[string]*corev1.Secret{}}
	files, err := filepath.Glob(filepath.Join("kubernetes", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests: %v", err)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range bytes.Split(data, []byte("\n---\n")) {
			where := fmt.Sprintf("%s, document %d", file, i+1)
			var tm metav1.TypeMeta
			if err := yaml.Unmarshal(doc, &tm); err != nil {
				t.Fatalf("%s: %v", where, err)
			}
			var obj interface{ GetName() string }
			switch tm.APIVersion + " " + tm.Kind {
			case "apps/v1 StatefulSet":
				o := &appsv1.StatefulSet{}
				obj, m.statefulSets[nameOf(t, where, doc)] = o, o
			case "batch/v1 CronJob":
				o := &batchv1.CronJob{}
				obj, m.cronJobs[nameOf(t, where, doc)] = o, o
			case "v1 Service":
				o := &corev1.Service{}
				obj, m.services[nameOf(t, where, doc)] = o, o
			case "v1 ConfigMap":
				o := &corev1.ConfigMap{}
				obj, m.configMaps[nameOf(t, where, doc)] = o, o
			case "v1 Secret":
				o := &corev1.Secret{}
				obj, m.secrets[nameOf(t, where, doc)] = o, o
			default:
				t.Fatalf("%s: unexpected kind %q %q", where, tm.APIVersion, tm.Kind)
			}
			if err := yaml.UnmarshalStrict(doc, obj); err != nil {
				t.Fatalf("%s: %v", where, err)
			}
		}
	}
	return m
}

func nameOf(t *testing.T, where string, doc []byte) string {
	t.Helper()
	var o struct {
		Metadata metav1.ObjectMeta `json:"metadata"`
	}
	if err := yaml.Unmarshal(doc, &o); err != nil || o.Metadata.Name == "" {
		t.Fatalf("%s: no metadata.name (%v)", where, err)
	}
	return o.Metadata.Name
}

// podOf is a pod template and what it is part of.
type podOf struct {
	where  string
	spec   *corev1.PodSpec
	claims []corev1.PersistentVolumeClaim // a StatefulSet's volumeClaimTemplates
}

func (m *manifests) pods() []podOf {
	var out []podOf
	for name, s := range m.statefulSets {
		out = append(out, podOf{"StatefulSet " + name, &s.Spec.Template.Spec, s.Spec.VolumeClaimTemplates})
	}
	for name, c := range m.cronJobs {
		out = append(out, podOf{"CronJob " + name, &c.Spec.JobTemplate.Spec.Template.Spec, nil})
	}
	return out
}

func allContainers(p *corev1.PodSpec) []corev1.Container {
	return append(slices.Clone(p.InitContainers), p.Containers...)
}

// ours reports whether a container runs banyan-backup's image.
func ours(t *testing.T, c corev1.Container) bool {
	repo, _, _ := strings.Cut(c.Image, ":")
	return repo == imageName(t)
}

// mountFor returns the volume mount of c whose path holds path.
func mountFor(c corev1.Container, path string) (corev1.VolumeMount, bool) {
	for _, vm := range c.VolumeMounts {
		if path == vm.MountPath || strings.HasPrefix(path, strings.TrimSuffix(vm.MountPath, "/")+"/") {
			return vm, true
		}
	}
	return corev1.VolumeMount{}, false
}

func volume(p *corev1.PodSpec, name string) *corev1.Volume {
	for i := range p.Volumes {
		if p.Volumes[i].Name == name {
			return &p.Volumes[i]
		}
	}
	return nil
}

// Every mount names a volume of its pod (or a claim template of its
// StatefulSet); every volume is used; every Secret and ConfigMap a pod
// reads exists, with the keys it reads.
func TestKubernetesVolumesAndReferences(t *testing.T) {
	m := loadManifests(t)
	for _, p := range m.pods() {
		used := map[string]bool{}
		for _, c := range allContainers(p.spec) {
			for _, vm := range c.VolumeMounts {
				used[vm.Name] = true
				claim := slices.ContainsFunc(p.claims, func(pvc corev1.PersistentVolumeClaim) bool { return pvc.Name == vm.Name })
				if volume(p.spec, vm.Name) == nil && !claim {
					t.Errorf("%s: container %s mounts %q, which is neither a volume nor a claim template", p.where, c.Name, vm.Name)
				}
			}
			for _, ef := range c.EnvFrom {
				if ef.SecretRef != nil && m.secrets[ef.SecretRef.Name] == nil {
					t.Errorf("%s: container %s reads Secret %s, which no manifest defines", p.where, c.Name, ef.SecretRef.Name)
				}
			}
		}
		for _, v := range p.spec.Volumes {
			if !used[v.Name] {
				t.Errorf("%s: volume %s is mounted by no container", p.where, v.Name)
			}
			if v.Secret != nil && m.secrets[v.Secret.SecretName] == nil {
				t.Errorf("%s: volume %s: no Secret %s", p.where, v.Name, v.Secret.SecretName)
			}
			if v.ConfigMap != nil && m.configMaps[v.ConfigMap.Name] == nil {
				t.Errorf("%s: volume %s: no ConfigMap %s", p.where, v.Name, v.ConfigMap.Name)
			}
		}
	}
}

// Every container of banyan-backup's image runs as 65532, not root, on a
// read-only root filesystem, with no capabilities and no privilege
// escalation, from a pinned tag; every flag it is given exists.
func TestKubernetesContainersOfOurImage(t *testing.T) {
	m := loadManifests(t)
	n := 0
	for _, p := range m.pods() {
		for _, c := range allContainers(p.spec) {
			if !ours(t, c) {
				continue
			}
			n++
			where := p.where + ", container " + c.Name
			if _, tag, _ := strings.Cut(c.Image, ":"); tag == "" || tag == "latest" {
				t.Errorf("%s: image %s: pin a release tag", where, c.Image)
			}
			checkRestricted(t, where, p.spec.SecurityContext, c.SecurityContext)
			if len(c.Command) != 0 {
				t.Errorf("%s: command %v replaces the image's entrypoint", where, c.Command)
			}
			parseInvocation(t, where, expandEnv(c.Args, "banyandb-0"))
		}
	}
	if n < 4 {
		t.Fatalf("found %d containers of %s, want the restore, serve, backup, retention and verify ones", n, imageName(t))
	}
}

func checkRestricted(t *testing.T, where string, pod *corev1.PodSecurityContext, c *corev1.SecurityContext) {
	t.Helper()
	if c == nil {
		t.Errorf("%s: no securityContext", where)
		return
	}
	nonRoot, uid := c.RunAsNonRoot, c.RunAsUser
	if pod != nil {
		if nonRoot == nil {
			nonRoot = pod.RunAsNonRoot
		}
		if uid == nil {
			uid = pod.RunAsUser
		}
	}
	if nonRoot == nil || !*nonRoot || uid == nil || *uid != 65532 {
		t.Errorf("%s: want runAsNonRoot and runAsUser 65532 (the image's user)", where)
	}
	if c.ReadOnlyRootFilesystem == nil || !*c.ReadOnlyRootFilesystem {
		t.Errorf("%s: want readOnlyRootFilesystem", where)
	}
	if c.AllowPrivilegeEscalation == nil || *c.AllowPrivilegeEscalation {
		t.Errorf("%s: want allowPrivilegeEscalation: false", where)
	}
	if c.Capabilities == nil || !slices.Contains(c.Capabilities.Drop, "ALL") {
		t.Errorf("%s: want capabilities dropped (ALL)", where)
	}
}

// expandEnv substitutes $(POD_NAME), as the kubelet does in args.
func expandEnv(args []string, pod string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = strings.ReplaceAll(a, "$(POD_NAME)", pod)
	}
	return out
}

// container returns the named container (or init container) of a pod.
func container(t *testing.T, where string, p *corev1.PodSpec, name string) corev1.Container {
	t.Helper()
	for _, c := range allContainers(p) {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("%s: no container %s", where, name)
	return corev1.Container{}
}

// banyandbRoot is the one root path the BanyanDB container gives every
// catalog (its --*-root-path flags), with the volume mount holding it.
func banyandbRoot(t *testing.T, where string, c corev1.Container) (string, corev1.VolumeMount) {
	t.Helper()
	roots := map[string]string{}
	for _, a := range c.Args {
		if k, v, ok := strings.Cut(a, "="); ok && strings.HasSuffix(k, "-root-path") {
			roots[k] = v
		}
	}
	var root string
	for _, f := range []string{"--measure-root-path", "--stream-root-path", "--trace-root-path", "--property-root-path", "--schema-server-root-path"} {
		if roots[f] == "" {
			t.Fatalf("%s: BanyanDB is not given %s (its default is /tmp)", where, f)
		}
		if root != "" && roots[f] != root {
			t.Fatalf("%s: BanyanDB's roots differ (%v): the manifests assume one root", where, roots)
		}
		root = roots[f]
	}
	vm, ok := mountFor(c, root)
	if !ok {
		t.Fatalf("%s: BanyanDB's root %s is on no volume", where, root)
	}
	if vm.MountPath == root {
		t.Errorf("%s: BanyanDB's root %s is the volume's mount point: use a directory below it, so that the volume's lost+found is not in the root", where, root)
	}
	return root, vm
}

// The StatefulSet's containers agree: the restore init container restores
// into BanyanDB's root on BanyanDB's volume, only when it is empty; serve's
// config (the ConfigMap key of pod banyandb-0, checked by serve --check)
// backs up that root through the node's gRPC port; serve listens on the
// port its probes and the metrics Service use; its token file is the
// mounted Secret's key.
func TestKubernetesStatefulSet(t *testing.T) {
	m := loadManifests(t)
	ss := m.statefulSets["banyandb"]
	if ss == nil {
		t.Fatal("no StatefulSet banyandb")
	}
	where := "StatefulSet banyandb"
	pod := &ss.Spec.Template.Spec
	db := container(t, where, pod, "banyandb")
	root, dataMount := banyandbRoot(t, where, db)
	grpcPort, httpPort := containerPort(t, db, "grpc"), containerPort(t, db, "http")
	if grpcPort != 17912 || httpPort != 17913 {
		t.Errorf("BanyanDB's ports: gRPC %d, HTTP %d; want 17912 and 17913 (docs/banyandb.md, Ports)", grpcPort, httpPort)
	}
	for _, pr := range []*corev1.Probe{db.ReadinessProbe, db.LivenessProbe} {
		if pr == nil || pr.HTTPGet == nil || pr.HTTPGet.Path != "/api/healthz" || portOf(t, db, pr.HTTPGet.Port) != httpPort {
			t.Errorf("%s: BanyanDB's probes want GET /api/healthz on the HTTP port", where)
		}
	}

	var inits []string
	for _, c := range pod.InitContainers {
		inits = append(inits, c.Name)
	}
	if !slices.Equal(inits, []string{"init-repository", "restore"}) {
		t.Errorf("init containers %v, want init-repository, then restore", inits)
	}
	if inv := parseInvocation(t, where+", init-repository", pod.InitContainers[0].Args); inv.sub != "init" {
		t.Errorf("init-repository runs %s", inv.sub)
	} else if _, ok := inv.flags["--if-missing"]; !ok {
		t.Error("init-repository without --if-missing: the pod would fail to start once the repository exists")
	}
	restore := container(t, where, pod, "restore")
	if envValue(pod.InitContainers[0], "BANYAN_BACKUP_REPO") != envValue(restore, "BANYAN_BACKUP_REPO") {
		t.Error("init-repository and restore name different repositories")
	}
	inv := parseInvocation(t, where+", restore", expandEnv(restore.Args, "banyandb-0"))
	if inv.sub != "restore" || inv.flags["--target"] != root || !slices.Equal(inv.args, []string{"latest"}) {
		t.Errorf("restore: %v %v, want restore latest --target %s", inv.args, inv.flags, root)
	}
	if _, ok := inv.flags["--if-empty"]; !ok {
		t.Error("restore without --if-empty: the pod would fail to start once the volume holds data")
	}
	sameVolume(t, where, restore, root, dataMount)

	backup := container(t, where, pod, "backup")
	serve := parseInvocation(t, where+", backup", expandEnv(backup.Args, "banyandb-0"))
	if serve.sub != "serve" {
		t.Fatalf("the backup container runs %s, want serve", serve.sub)
	}
	sameVolume(t, where, backup, root, dataMount)
	cfgText := mountedFile(t, m, pod, backup, serve.flags["--config"])
	job := checkServeConfig(t, cfgText)
	if job.root != root {
		t.Errorf("serve's job backs up %s; BanyanDB's root is %s", job.root, root)
	}
	if host, port, err := net.SplitHostPort(job.node); err != nil || host != "127.0.0.1" || port != strconv.Itoa(grpcPort) {
		t.Errorf("serve's job reaches the node at %q; want 127.0.0.1:%d (the pod's BanyanDB gRPC port)", job.node, grpcPort)
	}

	_, listenPort, err := net.SplitHostPort(serve.flags["--listen"])
	if err != nil {
		t.Fatalf("serve --listen %q: %v", serve.flags["--listen"], err)
	}
	metricsPort := containerPort(t, backup, "metrics")
	if strconv.Itoa(metricsPort) != listenPort {
		t.Errorf("serve listens on %s; its container port is %d", listenPort, metricsPort)
	}
	for name, pr := range map[string]*corev1.Probe{"liveness": backup.LivenessProbe, "readiness": backup.ReadinessProbe} {
		if pr == nil || pr.HTTPGet == nil || portOf(t, backup, pr.HTTPGet.Port) != metricsPort || pr.HTTPGet.Path != "/healthz" {
			t.Errorf("serve's %s probe wants GET /healthz on port %d (a failing /readyz would take the node out of its Service)", name, metricsPort)
		}
	}
	svc := m.services["banyan-backup-metrics"]
	if svc == nil || len(svc.Spec.Ports) != 1 || portOf(t, backup, svc.Spec.Ports[0].TargetPort) != metricsPort ||
		svc.Annotations["prometheus.io/port"] != listenPort || !selects(svc.Spec.Selector, ss.Spec.Template.Labels) {
		t.Errorf("Service banyan-backup-metrics does not expose serve's port %d of the StatefulSet's pods", metricsPort)
	}
	if tf, ok := serve.flags["--token-file"]; ok {
		if text := mountedFile(t, m, pod, backup, tf); text == "" {
			t.Errorf("serve's token file %s is empty", tf)
		}
	} else {
		t.Error("serve is given no --token-file: its API would be open to the pod network")
	}
	headless := m.services[ss.Spec.ServiceName]
	if headless == nil || !selects(headless.Spec.Selector, ss.Spec.Template.Labels) {
		t.Errorf("no Service %s selecting the StatefulSet's pods", ss.Spec.ServiceName)
	}
}

// A live backup from a CronJob reads the node's snapshot from the node's
// own volume: the Job's pod mounts the StatefulSet's claim of that pod and
// runs on its Kubernetes node; the backup's root and node address are the
// StatefulSet's.
func TestKubernetesBackupCronJob(t *testing.T) {
	m := loadManifests(t)
	ss := m.statefulSets["banyandb"]
	root, _ := banyandbRoot(t, "StatefulSet banyandb", container(t, "StatefulSet banyandb", &ss.Spec.Template.Spec, "banyandb"))
	cj := m.cronJobs["banyan-backup-banyandb-0"]
	if cj == nil {
		t.Fatal("no CronJob banyan-backup-banyandb-0")
	}
	where := "CronJob " + cj.Name
	if cj.Spec.ConcurrencyPolicy != batchv1.ForbidConcurrent {
		t.Errorf("%s: concurrencyPolicy %q, want Forbid", where, cj.Spec.ConcurrencyPolicy)
	}
	pod := &cj.Spec.JobTemplate.Spec.Template.Spec
	c := container(t, where, pod, "backup")
	inv := parseInvocation(t, where, c.Args)
	if inv.sub != "backup" || inv.flags["--root"] != root {
		t.Errorf("%s: %s --root %q, want backup --root %s", where, inv.sub, inv.flags["--root"], root)
	}
	wantNode := fmt.Sprintf("banyandb-0.%s:%d", ss.Spec.ServiceName, containerPort(t, container(t, "", &ss.Spec.Template.Spec, "banyandb"), "grpc"))
	if inv.flags["--node"] != wantNode {
		t.Errorf("%s: --node %q, want %s", where, inv.flags["--node"], wantNode)
	}
	vm, ok := mountFor(c, root)
	if !ok {
		t.Fatalf("%s: the root %s is on no volume", where, root)
	}
	v := volume(pod, vm.Name)
	wantClaim := ss.Spec.VolumeClaimTemplates[0].Name + "-banyandb-0"
	if v == nil || v.PersistentVolumeClaim == nil || v.PersistentVolumeClaim.ClaimName != wantClaim {
		t.Errorf("%s: the root's volume is not the claim %s of pod banyandb-0", where, wantClaim)
	}
	_, ssMount := banyandbRoot(t, "", container(t, "", &ss.Spec.Template.Spec, "banyandb"))
	if vm.MountPath != ssMount.MountPath {
		t.Errorf("%s: the claim is mounted at %s, in BanyanDB's pod at %s", where, vm.MountPath, ssMount.MountPath)
	}
	aff := pod.Affinity
	if aff == nil || aff.PodAffinity == nil || len(aff.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution) != 1 {
		t.Fatalf("%s: no required podAffinity to banyandb-0", where)
	}
	term := aff.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution[0]
	if term.TopologyKey != "kubernetes.io/hostname" || term.LabelSelector == nil ||
		term.LabelSelector.MatchLabels["statefulset.kubernetes.io/pod-name"] != "banyandb-0" {
		t.Errorf("%s: the podAffinity does not put the pod on banyandb-0's Kubernetes node: %+v", where, term)
	}
}

// sameVolume checks that c sees root on the same volume, at the same path,
// as BanyanDB.
func sameVolume(t *testing.T, where string, c corev1.Container, root string, want corev1.VolumeMount) {
	t.Helper()
	vm, ok := mountFor(c, root)
	if !ok || vm.Name != want.Name || vm.MountPath != want.MountPath || vm.SubPath != want.SubPath {
		t.Errorf("%s: container %s does not mount BanyanDB's volume %s at %s", where, c.Name, want.Name, want.MountPath)
	}
	if vm.ReadOnly {
		t.Errorf("%s: container %s mounts the data read-only: it must write (a restore) or delete the node's snapshots (a backup)", where, c.Name)
	}
}

// mountedFile returns the content of the file at path in container c, from
// the ConfigMap or Secret volume mounted there.
func mountedFile(t *testing.T, m *manifests, p *corev1.PodSpec, c corev1.Container, path string) string {
	t.Helper()
	vm, ok := mountFor(c, path)
	if !ok {
		t.Fatalf("container %s: %s is on no volume", c.Name, path)
	}
	key := strings.TrimPrefix(strings.TrimPrefix(path, vm.MountPath), "/")
	v := volume(p, vm.Name)
	switch {
	case v != nil && v.ConfigMap != nil:
		if text, ok := m.configMaps[v.ConfigMap.Name].Data[key]; ok {
			return text
		}
		t.Fatalf("container %s: ConfigMap %s has no key %s (for %s)", c.Name, v.ConfigMap.Name, key, path)
	case v != nil && v.Secret != nil:
		if text, ok := m.secrets[v.Secret.SecretName].StringData[key]; ok {
			return text
		}
		t.Fatalf("container %s: Secret %s has no key %s (for %s)", c.Name, v.Secret.SecretName, key, path)
	}
	t.Fatalf("container %s: %s is not on a ConfigMap or Secret volume", c.Name, path)
	return ""
}

// serveJob is what the tests compare of a serve config's job.
type serveJob struct{ node, root string }

// checkServeConfig runs serve --check on a config (exit 2: an error in the
// file) and returns its one job's source.
func checkServeConfig(t *testing.T, text string) serveJob {
	t.Helper()
	path := filepath.Join(t.TempDir(), "serve.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	// Exit 2 is an error in the file; exit 1 lists what this machine
	// lacks (the job's data root, its repositories, the node), which is
	// expected here.
	out, err := exec.Command(binary, "serve", "--config", path, "--check").CombinedOutput()
	var ee *exec.ExitError
	if err != nil && (!errors.As(err, &ee) || ee.ExitCode() != 1) {
		t.Fatalf("serve --check: %v: the config is wrong:\n%s\n%s", err, out, text)
	}
	var cfg struct {
		Jobs []struct {
			Source struct {
				Node string `json:"node"`
				Root string `json:"root"`
			} `json:"source"`
		} `json:"jobs"`
	}
	if err := yaml.Unmarshal([]byte(text), &cfg); err != nil || len(cfg.Jobs) != 1 {
		t.Fatalf("serve config: %v, %d jobs; want one", err, len(cfg.Jobs))
	}
	return serveJob{cfg.Jobs[0].Source.Node, cfg.Jobs[0].Source.Root}
}

func containerPort(t *testing.T, c corev1.Container, name string) int {
	t.Helper()
	for _, p := range c.Ports {
		if p.Name == name {
			return int(p.ContainerPort)
		}
	}
	t.Fatalf("container %s has no port %s", c.Name, name)
	return 0
}

// portOf resolves a probe's or Service's port (a number or a port name).
func portOf(t *testing.T, c corev1.Container, p intstr.IntOrString) int {
	t.Helper()
	if p.Type == intstr.Int {
		return p.IntValue()
	}
	return containerPort(t, c, p.StrVal)
}

func selects(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func envValue(c corev1.Container, name string) string {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}
