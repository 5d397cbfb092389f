"""Logistic regression in numpy, deterministic: full-batch L-BFGS from zero weights."""

from __future__ import annotations

import numpy as np

from bot.matching.topic_model.features import SparseRows


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def fit_logistic(
    x: SparseRows,
    y: np.ndarray,
    *,
    l2: float = 1e-4,
    sample_weight: np.ndarray | None = None,
    max_iter: int = 300,
    tol: float = 1e-7,
    history: int = 10,
) -> tuple[np.ndarray, float]:
    """L2-regularised logistic regression by L-BFGS; ``(weights, bias)``.

    Minimises the weighted mean log-loss plus ``l2/2 * |w|^2`` (the bias is
    not penalised).  Deterministic: starts from zero, no random numbers.
    """
    n, d = x.n_rows, x.n_cols
    y = y.astype(np.float64)
    sw = np.ones(n) if sample_weight is None else sample_weight.astype(np.float64)
    sw = sw / sw.sum()

    def loss_grad(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = theta[:d], theta[d]
        z = x.dot(w) + b
        # log(1 + e^z) - y z, stably
        loss = float(sw @ (np.logaddexp(0.0, z) - y * z)) + 0.5 * l2 * float(w @ w)
        r = sw * (sigmoid(z) - y)
        g = np.empty(d + 1)
        g[:d] = x.tdot(r) + l2 * w
        g[d] = r.sum()
        return loss, g

    theta = np.zeros(d + 1)
    f, g = loss_grad(theta)
    s_hist: list[np.ndarray] = []
    y_hist: list[np.ndarray] = []
    for _ in range(max_iter):
        # two-loop recursion
        q = g.copy()
        alphas = []
        for s, yy in zip(reversed(s_hist), reversed(y_hist), strict=True):
            rho = 1.0 / float(yy @ s)
            a = rho * float(s @ q)
            alphas.append((a, rho))
            q -= a * yy
        if y_hist:
            q *= float(s_hist[-1] @ y_hist[-1]) / float(y_hist[-1] @ y_hist[-1])
        else:
            q /= max(1.0, float(np.sqrt(g @ g)))
        for (a, rho), s, yy in zip(reversed(alphas), s_hist, y_hist, strict=True):
            b = rho * float(yy @ q)
            q += (a - b) * s
        direction = -q
        slope = float(g @ direction)
        if slope >= 0:  # not a descent direction: restart from the gradient
            s_hist.clear()
            y_hist.clear()
            direction = -g
            slope = -float(g @ g)
        step = 1.0
        for _ in range(30):  # backtracking (Armijo)
            new_theta = theta + step * direction
            new_f, new_g = loss_grad(new_theta)
            if new_f <= f + 1e-4 * step * slope:
                break
            step *= 0.5
        else:
            break
        s = new_theta - theta
        yy = new_g - g
        if float(yy @ s) > 1e-12:
            s_hist.append(s)
            y_hist.append(yy)
            if len(s_hist) > history:
                s_hist.pop(0)
                y_hist.pop(0)
        converged = abs(f - new_f) <= tol * max(1.0, abs(f))
        theta, f, g = new_theta, new_f, new_g
        if converged:
            break
    return theta[:d], float(theta[d])
