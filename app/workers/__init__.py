"""Workers: what runs beside the requests, in a thread of the service or as `eco-orchestrator worker`."""
