"""Local HTTP stand-ins for the networks' APIs, used by adapter tests over real HTTP."""
