import torch

from lstmlab.scan import parallel_scan, sequential_scan


def naive(a, u, c):
    out = []
    for t in range(u.shape[1]):
        c = a[:, t] * c + u[:, t]
        out.append(c)
    return torch.stack(out, dim=1)


def test_both_scans_solve_the_recurrence():
    torch.manual_seed(0)
    for T in (1, 2, 7, 64, 65):
        a, u, c0 = torch.rand(3, T, 5, dtype=torch.float64), torch.randn(3, T, 5, dtype=torch.float64), torch.randn(3, 5, dtype=torch.float64)
        expected = naive(a, u, c0)
        torch.testing.assert_close(parallel_scan(a, u, c0), expected, rtol=0, atol=1e-12)
        torch.testing.assert_close(sequential_scan(a, u.clone(), c0), expected, rtol=0, atol=1e-12)


def test_in_place_tanh_is_tanh():
    from lstmlab.activations import tanh

    x = torch.linspace(-20, 20, 100001, dtype=torch.float64)
    torch.testing.assert_close(tanh(x, out=torch.empty_like(x)), torch.tanh(x), rtol=0, atol=1e-15)
    x32 = x.float()
    torch.testing.assert_close(tanh(x32.clone(), out=torch.empty_like(x32)), torch.tanh(x32), rtol=0, atol=2e-7)
