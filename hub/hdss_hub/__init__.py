"""Hub-side pieces of the Health Data Science Sandbox: settings, configuration, services."""
