"""Work orders (工单): what a caller asked for, who must answer it, and by when.

Pure: the state machine (`machine`), the deadline rules (`deadlines`), the report fold
(`report`) and the applier (`service`, over a `WorkOrderStore` protocol) take times and a
working-day calendar as arguments. SQL lives in `ari_app.records.workorders`, HTTP in
`ari_app.api.workorder_routes`. See docs/workorders.md.
"""
