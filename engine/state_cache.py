"""Recently loaded scene states, kept so that loading costs only the events since.

Events never change once appended, so a state folded up to (stream, version) stays
true forever; the cache never needs invalidating, only trimming. States share
structure (HAMTs), so holding many versions of one scene costs little memory.
"""

from __future__ import annotations

from collections import OrderedDict

from engine.ports import StreamId
from engine.scene import SceneState

PER_STREAM = 4  # versions kept per stream: the newest, and a few a merge or diff asks for


class StateCache:
    def __init__(self, capacity: int = 256) -> None:
        self.capacity = capacity
        self._states: OrderedDict[tuple[StreamId, int], SceneState] = OrderedDict()
        self._versions: dict[StreamId, set[int]] = {}

    def put(self, state: SceneState) -> None:
        if self.capacity <= 0 or state.version == 0:
            return
        stream = StreamId(state.scene, state.branch)
        key = (stream, state.version)
        self._states[key] = state
        self._states.move_to_end(key)
        versions = self._versions.setdefault(stream, set())
        versions.add(state.version)
        # A busy scene must not push every other scene out: its old versions go first.
        while len(versions) > PER_STREAM:
            oldest = min(versions)
            versions.discard(oldest)
            del self._states[(stream, oldest)]
        while len(self._states) > self.capacity:
            (old_stream, old_version), _ = self._states.popitem(last=False)
            versions = self._versions[old_stream]
            versions.discard(old_version)
            if not versions:
                del self._versions[old_stream]

    def newest(self, stream: StreamId) -> SceneState | None:
        """The newest cached state of `stream` (which may be behind the store)."""
        return self.nearest(stream, None)

    def nearest(self, stream: StreamId, version: int | None) -> SceneState | None:
        """The cached state of `stream` with the highest version not past `version`."""
        versions = self._versions.get(stream)
        if not versions:
            return None
        fits = [v for v in versions if version is None or v <= version]
        if not fits:
            return None
        key = (stream, max(fits))
        self._states.move_to_end(key)
        return self._states[key]
