"""SandboxSpawner: DockerSpawner with profiles, the data policy and hardening."""
