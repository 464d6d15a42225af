"""Slurm backend of the sandbox: the cluster as containers, the job script, the spawner."""
