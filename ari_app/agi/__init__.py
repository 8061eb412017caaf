"""FastAGI: the engine's hooks for sites whose dialplan stays in control.

`protocol` is the pure parser/formatter of AGI lines; `server` is the asyncio shell that
speaks it on TCP; `hooks` holds the decisions (`route`, `greet-agent`); `cli` adds
`hotline agi`.
"""
