job "secured" {
  name = "secured"
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
    meshc_mesh      = "secured"
    meshc_namespace = "default"
    meshc_tenant    = "public"
  }
  group "shout" {
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
      meshc_component = "shout"
      meshc_fqfn      = "public/default/shout"
      meshc_hash      = "5fed4887cf25e80c"
      meshc_kind      = "function"
    }
    service {
      name     = "secured-shout"
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
    task "shout" {
      driver       = "raw_exec"
      kill_timeout = "30s"
      config {
        args    = ["-plan", "$${NOMAD_TASK_DIR}/instance.json"]
        command = "/usr/local/bin/meshrt"
      }
      env {
        MESHC_LISTEN             = "$${NOMAD_ADDR_http}"
        MESHC_PULSAR_TOKEN_FILE  = "$${NOMAD_SECRETS_DIR}/pulsar/token"
        MESHC_PULSAR_TRUST_CERTS = "$${NOMAD_SECRETS_DIR}/pulsar/trust-certs.pem"
        MESHC_PULSAR_URL         = "pulsar+ssl://pulsar.example.com:6651"
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
    "name": "secured",
    "tenant": "public",
    "namespace": "default",
    "source": "secured.mesh",
    "pulsar": {
      "url": "pulsar+ssl://pulsar.example.com:6651",
      "adminURL": "https://pulsar.example.com:8443",
      "trustCerts": {
        "path": "pulsar/ca",
        "key": "ca.crt"
      },
      "token": {
        "path": "pulsar/orders",
        "key": "token"
      }
    }
  },
  "component": {
    "kind": "function",
    "name": "shout",
    "fqfn": "public/default/shout",
    "hash": "5fed4887cf25e80c",
    "implementation": {
      "kind": "builtin",
      "name": "identity"
    },
    "inputs": [
      {
        "topic": "persistent://public/default/lines",
        "schema": {
          "type": "string"
        }
      }
    ],
    "output": {
      "topic": "persistent://public/default/upper",
      "schema": {
        "type": "string"
      }
    },
    "subscription": {
      "name": "secured-shout",
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
      template {
        destination = "secrets/pulsar/trust-certs.pem"
        data        = "{{ with nomadVar \"pulsar/ca\" }}{{ (index . \"ca.crt\").Value }}{{ end }}"
        change_mode = "restart"
        perms       = "0400"
      }
      template {
        destination = "secrets/pulsar/token"
        data        = "{{ with nomadVar \"pulsar/orders\" }}{{ (index . \"token\").Value }}{{ end }}"
        change_mode = "restart"
        perms       = "0400"
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
      meshc_hash      = "ca9db382f1d59d23"
      meshc_kind      = "sink"
    }
    service {
      name     = "secured-print"
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
        MESHC_LISTEN             = "$${NOMAD_ADDR_http}"
        MESHC_PULSAR_TOKEN_FILE  = "$${NOMAD_SECRETS_DIR}/pulsar/token"
        MESHC_PULSAR_TRUST_CERTS = "$${NOMAD_SECRETS_DIR}/pulsar/trust-certs.pem"
        MESHC_PULSAR_URL         = "pulsar+ssl://pulsar.example.com:6651"
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
    "name": "secured",
    "tenant": "public",
    "namespace": "default",
    "source": "secured.mesh",
    "pulsar": {
      "url": "pulsar+ssl://pulsar.example.com:6651",
      "adminURL": "https://pulsar.example.com:8443",
      "trustCerts": {
        "path": "pulsar/ca",
        "key": "ca.crt"
      },
      "token": {
        "path": "pulsar/orders",
        "key": "token"
      }
    }
  },
  "component": {
    "kind": "sink",
    "name": "print",
    "fqfn": "public/default/print",
    "hash": "ca9db382f1d59d23",
    "implementation": {
      "kind": "builtin",
      "name": "stdout"
    },
    "inputs": [
      {
        "topic": "persistent://public/default/upper",
        "schema": {
          "type": "string"
        }
      }
    ],
    "subscription": {
      "name": "secured-print",
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
      template {
        destination = "secrets/pulsar/trust-certs.pem"
        data        = "{{ with nomadVar \"pulsar/ca\" }}{{ (index . \"ca.crt\").Value }}{{ end }}"
        change_mode = "restart"
        perms       = "0400"
      }
      template {
        destination = "secrets/pulsar/token"
        data        = "{{ with nomadVar \"pulsar/orders\" }}{{ (index . \"token\").Value }}{{ end }}"
        change_mode = "restart"
        perms       = "0400"
      }
    }
  }
}
