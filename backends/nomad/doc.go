// Package nomad turns a plan into a Nomad job, one per mesh with a task
// group per function, source and sink, writes it as JSON and HCL, and
// deploys and manages it through Nomad's HTTP API.
package nomad
