"""Gateway API input: GatewayClasses, Gateways, HTTPRoutes, GRPCRoutes and ReferenceGrants
into the model.

A second input beside Ingresses, meeting them in the same normalized model (model.py): an
HTTPRoute rule becomes locations of the servers its hostnames give, with an `Origin` naming
the route and rule, so rendering, TLS, upstreams and ``explain`` are today's code. Modules by
idea: `selection` (which Gateways and listeners are served), `grants` (ReferenceGrants),
`attachment` (which listeners a route attaches to), `hostnames` (listener and route hostnames
intersected), `matching` (path matches), `conditions` (header, query and method matches), `dispatch`
(matches into locations, by precedence), `backend_refs` (backendRefs into actions),
`filters`, `filter_directives` and `ref_filters` (what filters do, and where), `grpc_routes`
(GRPCRoute matches and backends), `route_kinds` (where gRPC is served; HTTPRoutes and
GRPCRoutes overlapping), `building` (servers and routes), `isolation` and `listening` (which
listener a request belongs to; servers per port), `nginx` (how the choices are laid out),
`status`, `listener_status` and `status_merging` (the Gateway API status written in cluster
mode).
docs/gateway-api.md says what is supported and why.
"""
