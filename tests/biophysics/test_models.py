import numpy as np
import pytest
import torch
import yaml

from mpralens.biophysics.energies import SparseOneHot
from mpralens.biophysics.kinetic import KineticModel, spanning_in_trees
from mpralens.biophysics.spec import parse_spec
from mpralens.biophysics.thermodynamic import ThermodynamicModel
from mpralens.io.errors import InputError
from mpralens.io.sequences import one_hot
from tests.conftest import REPO

LAC = yaml.safe_load((REPO / "config" / "biophysics" / "lac_thermo.yaml").read_text())
KIN = yaml.safe_load((REPO / "config" / "biophysics" / "lac_kinetic.yaml").read_text())


def _steady_state(n, edges, rates):
    q = np.zeros((n, n))
    for (i, j), k in zip(edges, rates, strict=True):
        q[i, j] += k
        q[i, i] -= k
    # p Q = 0, sum p = 1
    a = np.vstack([q.T, np.ones(n)])
    b = np.zeros(n + 1)
    b[-1] = 1
    return np.linalg.lstsq(a, b, rcond=None)[0]


@pytest.mark.parametrize("seed", range(5))
def test_king_altman_equals_null_vector(seed):
    rng = np.random.default_rng(seed)
    n = 4
    edges = [(i, j) for i in range(n) for j in range(n) if i != j and rng.random() < 0.7]
    edges += [
        (i, (i + 1) % n) for i in range(n) if (i, (i + 1) % n) not in edges
    ]  # strongly connected
    rates = rng.lognormal(0, 1, len(edges))
    trees = spanning_in_trees(n, edges)
    w = np.array([np.exp(t @ np.log(rates)).sum() for t in trees])
    np.testing.assert_allclose(w / w.sum(), _steady_state(n, edges, rates), rtol=1e-8, atol=1e-12)


def test_two_state_closed_form_and_kinetic_module():
    spec = parse_spec(
        "two",
        {
            "type": "kinetic",
            "length": 4,
            "sites": {"S": {"start": 0, "length": 4}},
            "states": ["off", "on"],
            "transitions": [
                {"from": "off", "to": "on", "rate": "S"},
                {"from": "on", "to": "off", "rate": "constant"},
            ],
            "output": ["on", "off"],
        },
    )
    m = KineticModel(spec)
    with torch.no_grad():
        m.energies.theta[0].zero_()
        m.energies.theta[0][0, :] = 0.5  # each A adds 0.5 kT
        m.energies.mu.fill_(-1.0)
        m.log_k_const[1] = np.log(3.0)
    x = torch.from_numpy(one_hot(["AAAA", "CCCC"]))
    k_on = np.exp(-np.array([-1.0 + 2.0, -1.0]))
    p_on = k_on / (k_on + 3.0)
    np.testing.assert_allclose(m.occupancy(x)[:, 1].detach().numpy(), p_on, rtol=1e-6)
    np.testing.assert_allclose(m(x).detach().numpy(), 3.0 * p_on, rtol=1e-6)


def test_thermodynamic_hand_computed():
    spec = parse_spec("lac", LAC)
    m = ThermodynamicModel(spec)
    with torch.no_grad():
        for th in m.energies.theta:
            th.zero_()
        m.energies.mu.copy_(torch.tensor([0.5, -1.0]))
        m.dG_int.fill_(-2.0)
    x = torch.from_numpy(one_hot(["A" * 75]))
    # states: free 0, CRP 0.5, RNAP -1, both 0.5 - 1 - 2 = -2.5
    z = np.exp([0.0, -0.5, 1.0, 2.5])
    assert float(m(x)) == pytest.approx((z[2] + z[3]) / z.sum(), rel=1e-6)


def test_sparse_one_hot_gives_the_dense_energies_and_gradients():
    # Variants of a reference with a few substitutions and an N; the reference itself is found
    # as the most common base per position.
    rng = np.random.default_rng(0)
    ref = rng.choice(list("ACGT"), 75)
    seqs = []
    for _ in range(40):
        s = ref.copy()
        pos = rng.choice(75, 6, replace=False)
        s[pos] = rng.choice(list("ACGT"), 6)
        seqs.append("".join(s))
    seqs[3] = "N" + seqs[3][1:]
    x = one_hot(seqs)
    sparse = SparseOneHot(x, torch.float64)
    assert np.array_equal(sparse.ref.numpy().reshape(4, 75), one_hot(["".join(ref)])[0])
    for model in (ThermodynamicModel(parse_spec("lac", LAC)), KineticModel(parse_spec("k", KIN))):
        model = model.double()
        dense_t = model(torch.from_numpy(x).double())
        dense_g = torch.autograd.grad(dense_t.log().sum(), model.energies.theta[0])[0]
        sparse_t = model(sparse)
        sparse_g = torch.autograd.grad(sparse_t.log().sum(), model.energies.theta[0])[0]
        assert torch.allclose(dense_t, sparse_t, rtol=1e-12, atol=0)
        assert torch.allclose(dense_g, sparse_g, rtol=1e-10, atol=1e-12)
        assert float(dense_g.abs().max()) > 0.01  # the gradient is not trivially zero


SPEC_ERRORS = {
    "undefined_site": (
        {**LAC, "states": {**LAC["states"], "bad": {"bound": ["LacI"], "activity": 0}}},
        "biophysics.models.m.states.bad.bound",
    ),
    "site_past_end": (
        {**LAC, "sites": {"CRP": {"start": 60, "length": 26}, "RNAP": {"start": 34, "length": 41}}},
        "sites.CRP",
    ),
    "interaction_unbound": (
        {
            **LAC,
            "states": {
                **LAC["states"],
                "CRP": {"bound": ["CRP"], "interactions": ["I"], "activity": 0},
            },
        },
        "states.CRP.interactions",
    ),
    "no_path": (
        {
            "type": "kinetic",
            "length": 75,
            "sites": {"R": {"start": 0, "length": 5}},
            "states": ["a", "b", "c"],
            "transitions": [
                {"from": "a", "to": "b"},
                {"from": "b", "to": "a"},
                {"from": "c", "to": "a"},
            ],
            "output": ["a", "b"],
        },
        "has no path",
    ),
}


@pytest.mark.parametrize("case", sorted(SPEC_ERRORS))
def test_spec_errors_name_the_key(case):
    raw, needle = SPEC_ERRORS[case]
    with pytest.raises(InputError, match=needle.replace(".", r"\.")):
        parse_spec("m", raw)


def test_gaussian_measurement_hand_computed():
    from mpralens.biophysics.measurement import GaussianMeasurement

    g = GaussianMeasurement()
    with torch.no_grad():
        g.a.fill_(2.0)
        g.b.fill_(1.0)
        g.log_sigma.fill_(np.log(0.5))
    t = torch.tensor([0.0, 1.0])
    y = torch.tensor([1.5, 3.0])
    # residuals 0.5 and 0 over sigma 0.5 -> z = 1, 0
    expected = np.mean([0.5 * 1.0, 0.0]) + np.log(0.5) + 0.5 * np.log(2 * np.pi)
    assert float(g.nll(t, y)) == pytest.approx(expected, rel=1e-6)
