job "orders" {
  name = "orders"
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
    meshc_mesh      = "orders"
    meshc_namespace = "prod"
    meshc_tenant    = "shop"
  }
  group "parse_order" {
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
      meshc_component = "parse_order"
      meshc_fqfn      = "shop/prod/parse_order"
      meshc_hash      = "4aa9ad0f823bc7d9"
      meshc_kind      = "function"
    }
    service {
      name     = "orders-parse-order"
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
    scaling {
      min     = 2
      max     = 6
      enabled = true
    }
    task "parse_order" {
      driver       = "docker"
      kill_timeout = "30s"
      config {
        args       = ["-plan", "$${NOMAD_TASK_DIR}/instance.json"]
        entrypoint = ["meshrt"]
        image      = "meshc/meshrt:1"
        ports      = ["http"]
      }
      env {
        MESHC_LISTEN     = "0.0.0.0:$${NOMAD_PORT_http}"
        MESHC_PULSAR_URL = "pulsar://pulsar:6650"
      }
      resources {
        cpu    = 250
        memory = 96
      }
      template {
        destination     = "local/instance.json"
        data            = <<EOT
{
  "apiVersion": "meshc/v1",
  "mesh": {
    "name": "orders",
    "tenant": "shop",
    "namespace": "prod",
    "source": "orders.mesh"
  },
  "component": {
    "kind": "function",
    "name": "parse_order",
    "fqfn": "shop/prod/parse_order",
    "hash": "4aa9ad0f823bc7d9",
    "implementation": {
      "kind": "go",
      "name": "ParseOrder"
    },
    "inputs": [
      {
        "topic": "persistent://shop/prod/raw",
        "schema": {
          "type": "json",
          "definition": "{\"type\":\"record\",\"name\":\"Order\",\"fields\":[{\"name\":\"id\",\"type\":\"string\"},{\"name\":\"amount\",\"type\":\"double\"}]}"
        }
      }
    ],
    "output": {
      "topic": "persistent://shop/prod/orders",
      "schema": {
        "type": "json",
        "definition": "{\"type\":\"record\",\"name\":\"Order\",\"fields\":[{\"name\":\"id\",\"type\":\"string\"},{\"name\":\"amount\",\"type\":\"double\"}]}"
      }
    },
    "subscription": {
      "name": "orders-parse_order",
      "type": "shared",
      "position": "latest"
    },
    "guarantee": "at_least_once",
    "replicas": {
      "count": 0
    },
    "resources": {
      "cpu": 0.25,
      "memory": 100663296
    },
    "maxRetries": 3,
    "config": {
      "note": "kept as $${written} and \u003cb\u003e%%{bold}\u003c/b\u003e"
    },
    "secrets": {
      "api_key": {
        "path": "nomad/jobs/orders",
        "key": "api_key"
      },
      "db_password": {
        "path": "shop/db",
        "key": "pass-word"
      }
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
      template {
        destination = "secrets/meshc.env"
        data        = <<EOT
{{ with nomadVar "nomad/jobs/orders" }}MESHC_SECRET_API_KEY={{ (index . "api_key").Value | toJSON }}{{ end }}
{{ with nomadVar "shop/db" }}MESHC_SECRET_DB_PASSWORD={{ (index . "pass-word").Value | toJSON }}{{ end }}
EOT
        change_mode = "restart"
        env         = true
      }
    }
  }
  group "score" {
    count = 3
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
      meshc_component = "score"
      meshc_fqfn      = "shop/prod/score"
      meshc_hash      = "a747fc6fa272f803"
      meshc_kind      = "function"
    }
    service {
      name     = "orders-score"
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
    task "score" {
      driver       = "docker"
      kill_timeout = "30s"
      config {
        args       = ["-plan", "$${NOMAD_TASK_DIR}/instance.json"]
        entrypoint = ["meshrt"]
        image      = "meshc/meshrt:1"
        ports      = ["http"]
      }
      env {
        MESHC_LISTEN     = "0.0.0.0:$${NOMAD_PORT_http}"
        MESHC_PULSAR_URL = "pulsar://pulsar:6650"
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
    "name": "orders",
    "tenant": "shop",
    "namespace": "prod",
    "source": "orders.mesh"
  },
  "component": {
    "kind": "function",
    "name": "score",
    "fqfn": "shop/prod/score",
    "hash": "a747fc6fa272f803",
    "implementation": {
      "kind": "exec",
      "command": [
        "/opt/score/bin/score",
        "--fast"
      ]
    },
    "inputs": [
      {
        "topic": "persistent://shop/prod/orders",
        "schema": {
          "type": "json",
          "definition": "{\"type\":\"record\",\"name\":\"Order\",\"fields\":[{\"name\":\"id\",\"type\":\"string\"},{\"name\":\"amount\",\"type\":\"double\"}]}"
        }
      }
    ],
    "output": {
      "topic": "persistent://shop/prod/scored",
      "schema": {
        "type": "json",
        "definition": "{\"type\":\"record\",\"name\":\"Order\",\"fields\":[{\"name\":\"id\",\"type\":\"string\"},{\"name\":\"amount\",\"type\":\"double\"}]}"
      }
    },
    "subscription": {
      "name": "orders-score",
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
  group "audit" {
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
      meshc_component = "audit"
      meshc_fqfn      = "shop/prod/audit"
      meshc_hash      = "2a7ea0dc54e95f60"
      meshc_kind      = "sink"
    }
    service {
      name     = "orders-audit"
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
    task "audit" {
      driver       = "docker"
      kill_timeout = "30s"
      config {
        args       = ["-plan", "$${NOMAD_TASK_DIR}/instance.json"]
        entrypoint = ["meshrt"]
        image      = "meshc/meshrt:1"
        ports      = ["http"]
      }
      env {
        MESHC_LISTEN     = "0.0.0.0:$${NOMAD_PORT_http}"
        MESHC_PULSAR_URL = "pulsar://pulsar:6650"
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
    "name": "orders",
    "tenant": "shop",
    "namespace": "prod",
    "source": "orders.mesh"
  },
  "component": {
    "kind": "sink",
    "name": "audit",
    "fqfn": "shop/prod/audit",
    "hash": "2a7ea0dc54e95f60",
    "implementation": {
      "kind": "builtin",
      "name": "stdout"
    },
    "inputs": [
      {
        "topic": "persistent://shop/prod/scored",
        "schema": {
          "type": "json",
          "definition": "{\"type\":\"record\",\"name\":\"Order\",\"fields\":[{\"name\":\"id\",\"type\":\"string\"},{\"name\":\"amount\",\"type\":\"double\"}]}"
        }
      }
    ],
    "subscription": {
      "name": "orders-audit",
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
