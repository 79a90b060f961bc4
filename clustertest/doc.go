// Package clustertest runs Loam as a cluster of real processes and checks
// what several stateless instances promise: PostgreSQL, three `loam serve
// --roles api` instances, a worker, schedulers, and nginx (Debian's package,
// configured by deploy/nginx/loam.conf.tmpl) balancing round-robin in
// front. It has tests only; `go test ./clustertest` runs them.
//
// Without nginx on the PATH the tests are skipped, unless
// LOAM_REQUIRE_NGINX=1 (set by .ci/run), which makes that a failure.
package clustertest
