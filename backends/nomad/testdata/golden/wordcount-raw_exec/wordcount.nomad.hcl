job "wordcount" {
  name = "wordcount"
  type = "service"
  update {
    max_parallel      = 1
    health_check      = "checks"
    min_healthy_time  = "5s"
    healthy_deadline  = "2m"
    progress_deadline = "5m"
    auto_revert       = false
  }
  meta {
    meshc_mesh      = "wordcount"
    meshc_namespace = "default"
    meshc_tenant    = "public"
  }
  group "lines" {
    count = 1
    restart {
      interval = "5m"
      attempts = 3
      delay    = "10s"
      mode     = "fail"
    }
    reschedule {
      delay          = "30s"
      delay_function = "exponential"
      max_delay      = "10m"
      unlimited      = true
    }
    network {
      port "http" {
      }
    }
    meta {
      meshc_component = "lines"
      meshc_fqfn      = "public/default/lines"
      meshc_hash      = "39ad6df77db861c9"
      meshc_kind      = "source"
    }
    service {
      name     = "wordcount-lines"
      tags     = ["meshc", "source"]
      port     = "http"
      provider = "nomad"
      check {
        name     = "healthz"
        type     = "http"
        path     = "/healthz"
        interval = "5s"
        timeout  = "2s"
      }
    }
    task "lines" {
      driver       = "raw_exec"
      kill_timeout = "30s"
      config {
        args    = ["-plan", "$${NOMAD_TASK_DIR}/instance.json"]
        command = "/usr/local/bin/meshrt"
      }
      env {
        MESHC_LISTEN     = "$${NOMAD_ADDR_http}"
        MESHC_PULSAR_URL = "pulsar://127.0.0.1:6650"
      }
      resources {
        cpu    = 100
        memory = 128
      }
      template {
        destination     = "local/instance.json"
        data            = <<EOT
{
  "apiVersion": "meshc/v1",
  "mesh": {
    "name": "wordcount",
    "tenant": "public",
    "namespace": "default",
    "source": "wordcount.mesh"
  },
  "component": {
    "kind": "source",
    "name": "lines",
    "fqfn": "public/default/lines",
    "hash": "39ad6df77db861c9",
    "implementation": {
      "kind": "builtin",
      "name": "generator"
    },
    "output": {
      "topic": "persistent://public/default/sentences",
      "schema": {
        "type": "string"
      }
    },
    "guarantee": "at_least_once",
    "replicas": {
      "count": 0
    },
    "maxRetries": 3,
    "config": {
      "count": 100,
      "lines": [
        "the quick brown fox",
        "jumps over the lazy dog",
        "the dog sleeps"
      ]
    },
    "runtime": {
      "binary": "meshrt"
    }
  },
  "index": << env "NOMAD_ALLOC_INDEX" >>
}
EOT
        change_mode     = "noop"
        left_delimiter  = "<<"
        right_delimiter = ">>"
      }
    }
  }
  group "count" {
    count = 2
    restart {
      interval = "5m"
      attempts = 3
      delay    = "10s"
      mode     = "fail"
    }
    reschedule {
      delay          = "30s"
      delay_function = "exponential"
      max_delay      = "10m"
      unlimited      = true
    }
    network {
      port "http" {
      }
    }
    meta {
      meshc_component = "count"
      meshc_fqfn      = "public/default/count"
      meshc_hash      = "ea6612aaa7a8e5f9"
      meshc_kind      = "function"
    }
    service {
      name     = "wordcount-count"
      tags     = ["meshc", "function"]
      port     = "http"
      provider = "nomad"
      check {
        name     = "healthz"
        type     = "http"
        path     = "/healthz"
        interval = "5s"
        timeout  = "2s"
      }
    }
    task "count" {
      driver       = "raw_exec"
      kill_timeout = "30s"
      config {
        args    = ["-plan", "$${NOMAD_TASK_DIR}/instance.json"]
        command = "/usr/local/bin/meshrt"
      }
      env {
        MESHC_LISTEN     = "$${NOMAD_ADDR_http}"
        MESHC_PULSAR_URL = "pulsar://127.0.0.1:6650"
      }
      resources {
        cpu    = 100
        memory = 128
      }
      template {
        destination     = "local/instance.json"
        data            = <<EOT
{
  "apiVersion": "meshc/v1",
  "mesh": {
    "name": "wordcount",
    "tenant": "public",
    "namespace": "default",
    "source": "wordcount.mesh"
  },
  "component": {
    "kind": "function",
    "name": "count",
    "fqfn": "public/default/count",
    "hash": "ea6612aaa7a8e5f9",
    "implementation": {
      "kind": "builtin",
      "name": "word_count"
    },
    "inputs": [
      {
        "topic": "persistent://public/default/words",
        "schema": {
          "type": "string"
        }
      }
    ],
    "output": {
      "topic": "persistent://public/default/counts",
      "schema": {
        "type": "json",
        "definition": "{\"type\":\"record\",\"name\":\"Count\",\"fields\":[{\"name\":\"word\",\"type\":\"string\"},{\"name\":\"count\",\"type\":\"long\"}]}"
      }
    },
    "subscription": {
      "name": "wordcount-count",
      "type": "failover",
      "position": "latest"
    },
    "guarantee": "effectively_once",
    "replicas": {
      "count": 0
    },
    "maxRetries": 3,
    "state": true,
    "runtime": {
      "binary": "meshrt"
    }
  },
  "index": << env "NOMAD_ALLOC_INDEX" >>
}
EOT
        change_mode     = "noop"
        left_delimiter  = "<<"
        right_delimiter = ">>"
      }
    }
  }
  group "split" {
    count = 2
    restart {
      interval = "5m"
      attempts = 3
      delay    = "10s"
      mode     = "fail"
    }
    reschedule {
      delay          = "30s"
      delay_function = "exponential"
      max_delay      = "10m"
      unlimited      = true
    }
    network {
      port "http" {
      }
    }
    meta {
      meshc_component = "split"
      meshc_fqfn      = "public/default/split"
      meshc_hash      = "e9fa306370efdcb2"
      meshc_kind      = "function"
    }
    service {
      name     = "wordcount-split"
      tags     = ["meshc", "function"]
      port     = "http"
      provider = "nomad"
      check {
        name     = "healthz"
        type     = "http"
        path     = "/healthz"
        interval = "5s"
        timeout  = "2s"
      }
    }
    task "split" {
      driver       = "raw_exec"
      kill_timeout = "30s"
      config {
        args    = ["-plan", "$${NOMAD_TASK_DIR}/instance.json"]
        command = "/usr/local/bin/meshrt"
      }
      env {
        MESHC_LISTEN     = "$${NOMAD_ADDR_http}"
        MESHC_PULSAR_URL = "pulsar://127.0.0.1:6650"
      }
      resources {
        cpu    = 100
        memory = 128
      }
      template {
        destination     = "local/instance.json"
        data            = <<EOT
{
  "apiVersion": "meshc/v1",
  "mesh": {
    "name": "wordcount",
    "tenant": "public",
    "namespace": "default",
    "source": "wordcount.mesh"
  },
  "component": {
    "kind": "function",
    "name": "split",
    "fqfn": "public/default/split",
    "hash": "e9fa306370efdcb2",
    "implementation": {
      "kind": "builtin",
      "name": "split_words"
    },
    "inputs": [
      {
        "topic": "persistent://public/default/sentences",
        "schema": {
          "type": "string"
        }
      }
    ],
    "output": {
      "topic": "persistent://public/default/words",
      "schema": {
        "type": "string"
      }
    },
    "subscription": {
      "name": "wordcount-split",
      "type": "shared",
      "position": "latest"
    },
    "guarantee": "at_least_once",
    "replicas": {
      "count": 0
    },
    "maxRetries": 3,
    "runtime": {
      "binary": "meshrt"
    }
  },
  "index": << env "NOMAD_ALLOC_INDEX" >>
}
EOT
        change_mode     = "noop"
        left_delimiter  = "<<"
        right_delimiter = ">>"
      }
    }
  }
  group "print" {
    count = 1
    restart {
      interval = "5m"
      attempts = 3
      delay    = "10s"
      mode     = "fail"
    }
    reschedule {
      delay          = "30s"
      delay_function = "exponential"
      max_delay      = "10m"
      unlimited      = true
    }
    network {
      port "http" {
      }
    }
    meta {
      meshc_component = "print"
      meshc_fqfn      = "public/default/print"
      meshc_hash      = "5750d10a0366e384"
      meshc_kind      = "sink"
    }
    service {
      name     = "wordcount-print"
      tags     = ["meshc", "sink"]
      port     = "http"
      provider = "nomad"
      check {
        name     = "healthz"
        type     = "http"
        path     = "/healthz"
        interval = "5s"
        timeout  = "2s"
      }
    }
    task "print" {
      driver       = "raw_exec"
      kill_timeout = "30s"
      config {
        args    = ["-plan", "$${NOMAD_TASK_DIR}/instance.json"]
        command = "/usr/local/bin/meshrt"
      }
      env {
        MESHC_LISTEN     = "$${NOMAD_ADDR_http}"
        MESHC_PULSAR_URL = "pulsar://127.0.0.1:6650"
      }
      resources {
        cpu    = 100
        memory = 128
      }
      template {
        destination     = "local/instance.json"
        data            = <<EOT
{
  "apiVersion": "meshc/v1",
  "mesh": {
    "name": "wordcount",
    "tenant": "public",
    "namespace": "default",
    "source": "wordcount.mesh"
  },
  "component": {
    "kind": "sink",
    "name": "print",
    "fqfn": "public/default/print",
    "hash": "5750d10a0366e384",
    "implementation": {
      "kind": "builtin",
      "name": "stdout"
    },
    "inputs": [
      {
        "topic": "persistent://public/default/counts",
        "schema": {
          "type": "json",
          "definition": "{\"type\":\"record\",\"name\":\"Count\",\"fields\":[{\"name\":\"word\",\"type\":\"string\"},{\"name\":\"count\",\"type\":\"long\"}]}"
        }
      }
    ],
    "subscription": {
      "name": "wordcount-print",
      "type": "shared",
      "position": "latest"
    },
    "guarantee": "at_least_once",
    "replicas": {
      "count": 0
    },
    "maxRetries": 3,
    "runtime": {
      "binary": "meshrt"
    }
  },
  "index": << env "NOMAD_ALLOC_INDEX" >>
}
EOT
        change_mode     = "noop"
        left_delimiter  = "<<"
        right_delimiter = ">>"
      }
    }
  }
}
