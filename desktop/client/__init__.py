"""Docker Engine API client used by the CLI: one module per resource, one transport per connection kind."""
