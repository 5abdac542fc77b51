"""A population's registration names each of its consumers once (review3 R3): an id repeated inside one
ConsumersRegister would give one consumer two entries in the tracker's trees (phantom load)."""

from __future__ import annotations

import numpy as np

from scowl.actors.tracker_registry import registered_twice


def test_a_fresh_registration_names_nobody_twice():
    local_of = np.full(10, -1, dtype=np.int32)
    claimed = np.zeros(10, dtype=bool)
    assert registered_twice(np.array([0, 3, 7]), local_of, claimed) == 0


def test_an_id_repeated_inside_one_message_is_counted():
    local_of = np.full(10, -1, dtype=np.int32)
    claimed = np.zeros(10, dtype=bool)
    assert registered_twice(np.array([5, 5, 7]), local_of, claimed) == 1


def test_ids_held_or_claimed_by_an_earlier_message_are_counted():
    local_of = np.full(10, -1, dtype=np.int32)
    local_of[2] = 0
    claimed = np.zeros(10, dtype=bool)
    claimed[4] = True
    assert registered_twice(np.array([2, 4, 6]), local_of, claimed) == 2
