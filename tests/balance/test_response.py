"""The consumers' demand-response rule after a tick's verdicts (scowl.balance.response), no sockets."""

from __future__ import annotations

import numpy as np
import pytest

from scowl.balance import response

DECREASE, INCREASE = 0.5, 0.1


def _state(n: int, allowance: float = 1.0) -> response.Deferral:
    state = response.Deferral.new(n, 1)
    state.allowance[:] = allowance
    return state


def test_a_warned_self_optimizing_consumer_is_choked_and_backs_off():
    state = _state(3)
    choked = np.zeros(3, bool)
    warned = np.array([True, True, False])
    self_optimizing = np.array([True, False, True])  # consumer 1 still hears its tracker
    events = response.after_verdicts(state, choked, warned, np.zeros(3, bool), self_optimizing, DECREASE, INCREASE)
    assert events == 1
    assert choked.tolist() == [True, False, False]
    assert state.allowance.tolist() == [0.5, 1.0, 1.0]


def test_a_choked_consumer_holds_its_allowance_until_unchoked():
    state = _state(2, 0.5)
    choked = np.array([True, True])
    quiet = np.zeros(2, bool)
    unchoked = np.array([False, True])
    events = response.after_verdicts(state, choked, quiet, unchoked, np.ones(2, bool), DECREASE, INCREASE)
    assert events == 0
    assert choked.tolist() == [True, False]
    assert state.allowance.tolist() == pytest.approx([0.5, 0.6]), "held while choked; recovering once unchoked"


def test_a_consumer_back_with_its_tracker_is_no_longer_choked_and_recovers():
    state = _state(1, 0.5)
    choked = np.array([True])
    events = response.after_verdicts(state, choked, np.zeros(1, bool), np.zeros(1, bool), np.zeros(1, bool),
                                     DECREASE, INCREASE)
    assert events == 0 and not choked[0]
    assert state.allowance[0] == np.float32(0.6)
    assert state.events == 0


def test_the_rule_updates_a_view_of_the_populations_choked_array():
    state = _state(2)
    choked = np.zeros(4, bool)  # consumers first, fixed-load blocks after: the rule sees the consumers only
    response.after_verdicts(state, choked[:2], np.array([False, True]), np.zeros(2, bool), np.ones(2, bool), DECREASE, INCREASE)
    assert choked.tolist() == [False, True, False, False]


def test_a_self_optimizing_unit_with_nobody_in_its_tree_warns_nobody():
    # units: empty tree with no output (a charging EV hub), a tree whose every consumer defers
    # (load 0) on a unit with no output, and a tree drawing 95 % of its unit's output
    load, output = np.array([0.0, 0.0, 0.95]), np.array([0.0, 0.0, 1.0])
    sog, warned = np.ones(3, bool), np.zeros(3, bool)
    warn, _, _ = response.sog_signals(load, output, warned, sog, 0.9, 0.8)
    assert warn.tolist() == [True, True, True], "load 0 over output 0 reads as a warning"
    warn, _, now = response.sog_signals(load, output, warned, sog, 0.9, 0.8, members=np.array([0, 12, 40]))
    assert warn.tolist() == [False, True, True] and now.tolist() == [False, True, True]


def test_a_self_optimizing_unit_drawn_from_warns_even_when_its_fleet_sees_an_empty_tree():
    # (review5 F4) the fleet's view of a tree (tree deltas) can lag the populations' (Assigns) when views
    # disagree: a unit whose tree the fleet holds empty while consumers draw 1 MW from its 0.5 MW warns them
    load, output = np.array([1.0, 0.0]), np.array([0.5, 0.0])
    warn, _, _ = response.sog_signals(load, output, np.zeros(2, bool), np.ones(2, bool), 0.9, 0.8, members=np.array([0, 0]))
    assert warn.tolist() == [True, False]
