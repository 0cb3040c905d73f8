import torch

from lstmlab.scan import parallel_scan, sequential_scan


def naive(a, u, c):
    out = []
    for t in range(len(u)):
        c = a[t] * c + u[t]
        out.append(c)
    return torch.stack(out)


def test_both_scans_solve_the_recurrence():
    torch.manual_seed(0)
    for T in (1, 2, 7, 64, 65):
        a, u, c0 = torch.rand(T, 3, 5, dtype=torch.float64), torch.randn(T, 3, 5, dtype=torch.float64), torch.randn(3, 5, dtype=torch.float64)
        expected = naive(a, u, c0)
        torch.testing.assert_close(sequential_scan(a, u, c0), expected, rtol=0, atol=1e-12)
        torch.testing.assert_close(parallel_scan(a, u, c0), expected, rtol=0, atol=1e-12)
