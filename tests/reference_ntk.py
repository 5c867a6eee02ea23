"""Slow, obviously-correct versions of the NTK computations, for tests only.

* :func:`dense_kernels`: the standard infinite-width NNGP/NTK of a dense MLP on full N x N matrices,
  in neural-tangents' conventions (``stax.serial(Dense(W_std, b_std), act, ..., Dense(W_std, b_std))``
  with :math:`K^0 = X X^T / d` and the NTK parameterisation).
* :func:`graphon_kernels`: the Graphon-NTK on given node grids with plain loops over input pairs,
  brute-force enumeration of all :math:`2^d` first-layer row patterns (``itertools.product``), and
  the NTK from the backward (unrolled) form
  :math:`\\Theta = \\sum_{l=1}^{L+1} \\int \\beta^l(u)\\,\\Sigma^l(u)\\,du` with
  :math:`\\beta^{L+1} = 1`, :math:`\\beta^l(v) = \\dot F(\\Sigma^l(v)) \\int \\beta^{l+1}(u) K_{l+1}(u, v)\\,du`
  (each parameter's squared-gradient contribution, summed layer by layer), not the forward recursion.
* :func:`mlp_ntk_finite_differences`: J Jᵀ of a finite masked MLP from central differences of an
  explicit forward pass written here.
"""

import itertools

import numpy as np


def expectations(activation, q1, q2, c):
    """(F, Ḟ) of the closed-form activations, written out directly from their formulas."""
    q1, q2, c = np.broadcast_arrays(np.asarray(q1, float), np.asarray(q2, float), np.asarray(c, float))
    if activation == "identity":
        return c.copy(), np.ones_like(c)
    if activation == "relu":
        s = np.sqrt(q1 * q2)
        F = np.zeros_like(c)
        Fd = np.zeros_like(c)
        positive = s > 0
        theta = np.arccos(np.clip(c[positive] / s[positive], -1.0, 1.0))
        F[positive] = s[positive] * (np.sin(theta) + (np.pi - theta) * np.cos(theta)) / (2 * np.pi)
        Fd[positive] = (np.pi - theta) / (2 * np.pi)
        return F, Fd
    if activation == "erf":
        a, b = 1 + 2 * q1, 1 + 2 * q2
        return 2 / np.pi * np.arcsin(2 * c / np.sqrt(a * b)), 4 / np.pi / np.sqrt(a * b - 4 * c * c)
    raise ValueError(activation)


def dense_kernels(X, depth, activation="relu", sigma_w=1.0, sigma_b=0.0, X2=None):
    """NNGP and NTK of a dense MLP with ``depth`` hidden layers (neural-tangents conventions)."""
    Z = X if X2 is None else np.concatenate([X, X2])
    K = sigma_w ** 2 * (Z @ Z.T) / Z.shape[1] + sigma_b ** 2
    Theta = K.copy()
    for _ in range(depth):
        q = np.diag(K)
        F, Fd = expectations(activation, q[:, None], q[None, :], K)
        K = sigma_w ** 2 * F + sigma_b ** 2
        Theta = K + sigma_w ** 2 * Fd * Theta
    n = X.shape[0]
    if X2 is None:
        return K, Theta
    return K[:n, n:], Theta[:n, n:]


def _first_layer_nodes(x, y, keep, weights, first_layer, normalization, sigma_w, sigma_b, second_moment=None):
    """Layer-1 'nodes' (position i, pattern m) with their measure and covariances for one input pair.

    ``second_moment[i, j]`` is E[theta_j^2 | kept] of node i (kept weights; 1 for fresh ones): it scales
    the covariances, while the layer's own NTK term (last entry) counts the kept connections only."""
    m1, d = keep.shape
    second_moment = np.ones_like(keep) if second_moment is None else second_moment
    density = float(np.sum(weights * keep.mean(axis=1)))
    nodes = []  # (node index i, measure, Sigma(x,y), Sigma(x,x), Sigma(y,y), Sigma_direct(x,y))

    def scale(row):
        if normalization == "none":
            return sigma_w ** 2 / d
        if normalization == "density":
            return sigma_w ** 2 / (density * d)
        total = sum(row)
        return 0.0 if total == 0 else sigma_w ** 2 / total

    for i in range(m1):
        if first_layer == "mean-field":
            rows = [(tuple(keep[i]), 1.0)]
        else:
            rows = []
            for pattern in itertools.product((0, 1), repeat=d):
                probability = 1.0
                for j in range(d):
                    probability *= keep[i, j] if pattern[j] else 1.0 - keep[i, j]
                rows.append((pattern, probability))
        for row, probability in rows:
            c = scale(row)
            covariance = lambda a, b: c * sum(row[j] * second_moment[i, j] * a[j] * b[j] for j in range(d)) \
                + sigma_b ** 2
            direct = c * sum(row[j] * x[j] * y[j] for j in range(d)) + sigma_b ** 2
            nodes.append((i, weights[i] * probability, covariance(x, y), covariance(x, x), covariance(y, y), direct))
    return nodes


def _layer_matrix(W, rows, cols, normalization, sigma_w, M=None):
    """K_ik = sigma_w^2 M(u_i, v_k) / rho (without the column weights), rho or the degree from W;
    M defaults to W (fresh weights)."""
    values = W.on_grid(rows.nodes, cols.nodes)
    moments = values if M is None else M.on_grid(rows.nodes, cols.nodes)
    if normalization == "none":
        return sigma_w ** 2 * moments
    if normalization == "density":
        return sigma_w ** 2 * moments / float(rows.weights @ values @ cols.weights)
    degree = values @ cols.weights
    out = np.zeros_like(values)
    for i in range(values.shape[0]):
        if degree[i] > 0:
            out[i] = sigma_w ** 2 * moments[i] / degree[i]
    return out


def graphon_kernels(X, graphons, rules, activation="relu", sigma_w=1.0, sigma_b=0.0, normalization="none",
                    first_layer="patterns", X2=None, weight_graphons=None, readout_profile=None):
    """Graphon NNGP and NTK by brute force (see the module docstring) on the given per-layer rules.

    Kept weights: ``weight_graphons`` (one per hidden layer) scale the propagated terms (forward
    covariances and the backward signal), while each layer's own gradient term uses the connectivity
    graphon; ``readout_profile`` (callable of u) is E[v^2 | u] of the readout weights."""
    X2 = X if X2 is None else X2
    d = X.shape[1]
    weight_graphons = weight_graphons or [None] * len(graphons)
    keep = graphons[0].on_grid(rules[0].nodes, (np.arange(d) + 0.5) / d)
    second_moment = None
    if weight_graphons[0] is not None:
        moments = weight_graphons[0].on_grid(rules[0].nodes, (np.arange(d) + 0.5) / d)
        second_moment = np.where(keep > 0, moments / np.where(keep > 0, keep, 1.0), 0.0)
    matrices = [_layer_matrix(W, rules[l], rules[l - 1], normalization, sigma_w, weight_graphons[l])
                for l, W in enumerate(graphons) if l > 0]
    direct_matrices = [_layer_matrix(W, rules[l], rules[l - 1], normalization, sigma_w)
                       for l, W in enumerate(graphons) if l > 0]
    profile = np.ones(rules[-1].nodes.size) if readout_profile is None else readout_profile(rules[-1].nodes)
    nngp = np.zeros((X.shape[0], X2.shape[0]))
    ntk = np.zeros_like(nngp)
    for a, x in enumerate(X):
        for b, y in enumerate(X2):
            nodes = _first_layer_nodes(x, y, keep, rules[0].weights, first_layer, normalization, sigma_w, sigma_b,
                                       second_moment)
            index = np.array([n[0] for n in nodes])
            measure = np.array([n[1] for n in nodes])
            sigma = [np.array([n[2] for n in nodes])]
            direct = [np.array([n[5] for n in nodes])]
            variances = [(np.array([n[3] for n in nodes]), np.array([n[4] for n in nodes]))]
            # forward NNGP, layer by layer; the first layer's columns are (node, pattern) pairs
            column_measures = [measure]
            for l, K in enumerate(matrices):
                full = K[:, index] if l == 0 else K
                vx, vy = variances[-1]
                F = expectations(activation, vx, vy, sigma[-1])[0]
                Fxx = expectations(activation, vx, vx, vx)[0]
                Fyy = expectations(activation, vy, vy, vy)[0]
                sigma.append(full @ (column_measures[-1] * F) + sigma_b ** 2)
                full_direct = direct_matrices[l][:, index] if l == 0 else direct_matrices[l]
                direct.append(full_direct @ (column_measures[-1] * F) + sigma_b ** 2)
                variances.append((full @ (column_measures[-1] * Fxx) + sigma_b ** 2,
                                  full @ (column_measures[-1] * Fyy) + sigma_b ** 2))
                column_measures.append(rules[l + 1].weights)
            F_last = expectations(activation, *variances[-1], sigma[-1])[0]
            k_value = sigma_w ** 2 * np.sum(column_measures[-1] * profile * F_last) + sigma_b ** 2
            # backward: beta of the readout is 1; beta^l(v) = Fdot(Sigma^l(v)) * sum_u beta^{l+1}(u) K(u, v),
            # each layer's own parameters contributing beta^l times its direct (connectivity) covariance
            theta = sigma_w ** 2 * np.sum(column_measures[-1] * F_last) + sigma_b ** 2
            beta_above = None
            for l in range(len(sigma) - 1, -1, -1):
                Fdot = expectations(activation, *variances[l], sigma[l])[1]
                if beta_above is None:
                    incoming = sigma_w ** 2 * (profile if l > 0 else profile[index])
                else:
                    full = matrices[l] if l > 0 else matrices[0][:, index]
                    incoming = (beta_above * rules[l + 1].weights) @ full
                beta = Fdot * incoming
                theta += np.sum(column_measures[l] * beta * direct[l])
                beta_above = beta
            nngp[a, b], ntk[a, b] = k_value, theta
    return nngp, ntk


def mlp_forward(X, weights, biases, masks, scales, activation, sigma_b):
    """Explicit forward pass f(x) of a masked MLP with raw weights and row scales."""
    a = X
    for l, (omega, beta, mask, scale) in enumerate(zip(weights, biases, masks, scales)):
        h = a @ (scale[:, None] * mask * omega).T + sigma_b * beta
        a = activation(h) if l < len(weights) - 1 else h
    return a[:, 0]


def mlp_ntk_finite_differences(X, weights, biases, masks, scales, activation, sigma_b, step=1e-6):
    """J Jᵀ with J the Jacobian of f over all raw weights and biases, by central differences."""
    parameters = [np.array(w, dtype=float) for w in weights] + [np.array(b, dtype=float) for b in biases]
    columns = []
    L = len(weights)
    for index, parameter in enumerate(parameters):
        for position in np.ndindex(parameter.shape):
            original = parameter[position]
            values = []
            for sign in (1.0, -1.0):
                parameter[position] = original + sign * step
                values.append(mlp_forward(X, parameters[:L], parameters[L:], masks, scales, activation, sigma_b))
            parameter[position] = original
            columns.append((values[0] - values[1]) / (2 * step))
    J = np.stack(columns, axis=1)
    return J @ J.T
