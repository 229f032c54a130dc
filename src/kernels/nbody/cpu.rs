//! The n-body step on the CPU: the plain double loop, explicit SIMD over j (LANES interactions
//! at once, one partial sum per lane), bodies i in parallel, and the f64 reference.
//!
//! Every backend writes the same output layout: for body i, `(x', y', z', m)` at `4i` of the first
//! half and `(vx', vy', vz', 0)` at `4i` of the second half.

use super::{DT, SOFTENING_SQUARED};
use crate::cpu::simd::{F32Lanes, SimdKernel, dispatch};
use rayon::prelude::*;

/// The inputs: positions, masses and velocities, one array per component.
#[derive(Clone, Copy)]
pub struct Bodies<'a> {
    pub x: &'a [f32],
    pub y: &'a [f32],
    pub z: &'a [f32],
    pub m: &'a [f32],
    pub vx: &'a [f32],
    pub vy: &'a [f32],
    pub vz: &'a [f32],
}

impl Bodies<'_> {
    fn len(&self) -> usize {
        self.x.len()
    }
}

/// The pull of body j on a body at (xi, yi, zi), plain f32, added to `acceleration`.
#[inline(always)]
fn interact(bodies: &Bodies<'_>, j: usize, xi: f32, yi: f32, zi: f32, acceleration: &mut [f32; 3]) {
    let (dx, dy, dz) = (bodies.x[j] - xi, bodies.y[j] - yi, bodies.z[j] - zi);
    let r2 = dx * dx + dy * dy + dz * dz + SOFTENING_SQUARED;
    let s = bodies.m[j] / (r2 * r2.sqrt());
    acceleration[0] += s * dx;
    acceleration[1] += s * dy;
    acceleration[2] += s * dz;
}

/// Writes body i's new position and velocity from its acceleration.
#[inline(always)]
fn update(
    bodies: &Bodies<'_>,
    i: usize,
    acceleration: [f32; 3],
    position: &mut [f32],
    velocity: &mut [f32],
) {
    let x = [bodies.x[i], bodies.y[i], bodies.z[i]];
    let v = [bodies.vx[i], bodies.vy[i], bodies.vz[i]];
    for c in 0..3 {
        let v1 = v[c] + acceleration[c] * DT;
        velocity[c] = v1;
        position[c] = x[c] + v1 * DT;
    }
    position[3] = bodies.m[i];
    velocity[3] = 0.0;
}

/// The two halves of the output, checked against the number of bodies.
fn halves<'o>(bodies: &Bodies<'_>, output: &'o mut [f32]) -> (&'o mut [f32], &'o mut [f32]) {
    let n = bodies.len();
    assert!(
        output.len() == 8 * n
            && [
                bodies.y, bodies.z, bodies.m, bodies.vx, bodies.vy, bodies.vz
            ]
            .iter()
            .all(|a| a.len() == n),
        "nbody arrays of mismatched lengths"
    );
    output.split_at_mut(4 * n)
}

/// The plain double loop on one core.
pub fn scalar(bodies: &Bodies<'_>, output: &mut [f32]) {
    let n = bodies.len();
    let (positions, velocities) = halves(bodies, output);
    for i in 0..n {
        let (xi, yi, zi) = (bodies.x[i], bodies.y[i], bodies.z[i]);
        let mut acceleration = [0.0f32; 3];
        for j in 0..n {
            interact(bodies, j, xi, yi, zi, &mut acceleration);
        }
        update(
            bodies,
            i,
            acceleration,
            &mut positions[4 * i..4 * i + 4],
            &mut velocities[4 * i..4 * i + 4],
        );
    }
}

/// Bodies `first ..` (as many as the output chunks hold) with SIMD over j.
struct Step<'a> {
    bodies: Bodies<'a>,
    first: usize,
    positions: &'a mut [f32],
    velocities: &'a mut [f32],
}

impl SimdKernel for Step<'_> {
    type Output = ();
    #[inline(always)]
    fn run<S: F32Lanes>(self) {
        let b = self.bodies;
        let n = b.len();
        let whole = n - n % S::LANES;
        let softening = S::splat(SOFTENING_SQUARED);
        let bodies = self
            .positions
            .chunks_exact_mut(4)
            .zip(self.velocities.chunks_exact_mut(4));
        for (offset, (position, velocity)) in bodies.enumerate() {
            let i = self.first + offset;
            let (xi, yi, zi) = (b.x[i], b.y[i], b.z[i]);
            let (sx, sy, sz) = (S::splat(xi), S::splat(yi), S::splat(zi));
            let (mut ax, mut ay, mut az) = (S::splat(0.0), S::splat(0.0), S::splat(0.0));
            let mut j = 0;
            while j < whole {
                // SAFETY: j + LANES <= whole <= n, the length of every array of `b`
                // (checked by `halves` before any chunk is made).
                unsafe {
                    let dx = S::load(b.x.as_ptr().add(j)).sub(sx);
                    let dy = S::load(b.y.as_ptr().add(j)).sub(sy);
                    let dz = S::load(b.z.as_ptr().add(j)).sub(sz);
                    let r2 = dx.mul_add(dx, dy.mul_add(dy, dz.mul_add(dz, softening)));
                    let s = S::load(b.m.as_ptr().add(j)).div(r2.mul(r2.sqrt()));
                    ax = dx.mul_add(s, ax);
                    ay = dy.mul_add(s, ay);
                    az = dz.mul_add(s, az);
                }
                j += S::LANES;
            }
            let mut tail = [0.0f32; 3];
            for j in whole..n {
                interact(&b, j, xi, yi, zi, &mut tail);
            }
            let acceleration = [
                ax.reduce_sum() + tail[0],
                ay.reduce_sum() + tail[1],
                az.reduce_sum() + tail[2],
            ];
            update(&b, i, acceleration, position, velocity);
        }
    }
}

/// Explicit SIMD over j on one core.
pub fn simd(bodies: &Bodies<'_>, output: &mut [f32]) {
    let (positions, velocities) = halves(bodies, output);
    dispatch(Step {
        bodies: *bodies,
        first: 0,
        positions,
        velocities,
    });
}

/// Bodies i in parallel on the current pool, SIMD over j inside each chunk of bodies.
pub fn rayon(bodies: &Bodies<'_>, output: &mut [f32]) {
    let n = bodies.len();
    let (positions, velocities) = halves(bodies, output);
    // Compute-bound and even: a few chunks per thread is enough for balance; each chunk is
    // n·chunk interactions, far above rayon's per-task cost.
    let chunk = n.div_ceil(::rayon::current_num_threads().max(1) * 8).max(1);
    positions
        .par_chunks_mut(4 * chunk)
        .zip(velocities.par_chunks_mut(4 * chunk))
        .enumerate()
        .for_each(|(index, (positions, velocities))| {
            dispatch(Step {
                bodies: *bodies,
                first: index * chunk,
                positions,
                velocities,
            })
        });
}

/// The f64 sums of one body: its acceleration, and Σ_j of each term's magnitude (the scale of
/// the rounding error bound).
#[derive(Debug, Clone, Copy, Default)]
pub struct Sums {
    pub acceleration: [f64; 3],
    pub magnitude: [f64; 3],
}

/// The accelerations in f64 from the same f32 inputs, bodies in parallel.
pub fn reference(bodies: &Bodies<'_>) -> Vec<Sums> {
    let softening = SOFTENING_SQUARED as f64;
    (0..bodies.len())
        .into_par_iter()
        .map(|i| {
            let at = |j: usize| [bodies.x[j] as f64, bodies.y[j] as f64, bodies.z[j] as f64];
            let me = at(i);
            let mut sums = Sums::default();
            for j in 0..bodies.len() {
                let other = at(j);
                let d = [other[0] - me[0], other[1] - me[1], other[2] - me[2]];
                let r2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2] + softening;
                let s = bodies.m[j] as f64 / (r2 * r2.sqrt());
                for (c, component) in d.iter().enumerate() {
                    sums.acceleration[c] += s * component;
                    sums.magnitude[c] += (s * component).abs();
                }
            }
            sums
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two bodies on the x axis pull each other by m/(d² + ε²)^{3/2}·d: checks the formula,
    /// not only agreement between backends.
    #[test]
    fn two_bodies_pull_each_other_by_the_formula() {
        let bodies = Bodies {
            x: &[0.0, 1.0],
            y: &[0.0, 0.0],
            z: &[0.0, 0.0],
            m: &[2.0, 3.0],
            vx: &[0.0, 0.0],
            vy: &[0.0, 0.0],
            vz: &[0.0, 0.0],
        };
        let r2 = 1.0 + SOFTENING_SQUARED as f64;
        let pull = 1.0 / (r2 * r2.sqrt());
        let sums = reference(&bodies);
        assert!((sums[0].acceleration[0] - 3.0 * pull).abs() < 1e-12);
        assert!((sums[1].acceleration[0] + 2.0 * pull).abs() < 1e-12);
        type Backend = fn(&Bodies<'_>, &mut [f32]);
        for backend in [scalar as Backend, simd, rayon] {
            let mut output = vec![f32::NAN; 16];
            backend(&bodies, &mut output);
            let dt = DT as f64;
            // New velocity of body 0, then its new position, and its mass copied.
            assert!((output[8] as f64 - 3.0 * pull * dt).abs() < 1e-7);
            assert!((output[0] as f64 - 3.0 * pull * dt * dt).abs() < 1e-7);
            assert_eq!(output[3], 2.0);
        }
    }
}
