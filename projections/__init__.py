"""Stage 6, projection: the read models and views built from the event log.

runner.py        ProjectionRunner: follows the log from checkpoints, catch-up then
                 live, exactly once, blue/green rebuilds
projection.py    what a projection is (a fold of events into rows); ports.py the
                 storage it needs (adapters.store.read_models implements it)
history.py       history by scene, branch, node, actor, execution and time
lineage.py       artifact → task → execution → intent, to the root intents
as_of.py         a branch at a version or a moment
timeline.py      the draft view; drafts.py keeps it live in memory per branch
fidelity.py      the preview and production views; views.py loads any of them
"""
