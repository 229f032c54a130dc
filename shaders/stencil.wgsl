// 2-D diffusion: one explicit 5-point Jacobi step on one band of rows of a grid of `grid_rows`
// rows of n points, with a zero (Dirichlet) rim: neighbours outside the grid read 0. The
// catalogue's grid is n × n; a rank of the distributed stencil binds its slab with a ghost row
// above and below (grid_rows = its rows + 2, first_row = 1), and the ghost rows hold the
// neighbours' rows, or zeros at the edge of the whole grid.
//
// A band is rows first_row .. first_row + rows. Its bindings are windows of the whole fields that
// start on the storage-offset alignment: `src` holds the band with the row above and the row
// below (its halo), `dst` holds the band; `in_shift` and `out_shift` are the positions of the
// band's first point inside each window. With one band the windows are the whole fields and
// the shifts 0. Indices stay inside one binding, so they fit in u32 at any grid size.
//
// A 2-D grid-stride loop covers any band with at most 65 535 workgroups per dimension.
override TILE_X: u32 = 16u;
override TILE_Y: u32 = 16u;
// The diffusion number D, set from Rust.
override DIFFUSION: f32 = 0.1;

struct Band {
    n: u32,
    rows: u32,
    first_row: u32,
    in_shift: u32,
    out_shift: u32,
    grid_rows: u32,
    pad1: u32,
    pad2: u32,
}

@group(0) @binding(0) var<uniform> band: Band;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

@compute @workgroup_size(TILE_X, TILE_Y)
fn step(
    @builtin(global_invocation_id) id: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    let n = band.n;
    for (var r = id.y; r < band.rows; r += groups.y * TILE_Y) {
        let row = band.first_row + r;
        for (var c = id.x; c < n; c += groups.x * TILE_X) {
            let here = band.in_shift + r * n + c;
            let centre = src[here];
            var left = 0.0;
            if (c > 0u) {
                left = src[here - 1u];
            }
            var right = 0.0;
            if (c + 1u < n) {
                right = src[here + 1u];
            }
            var up = 0.0;
            if (row > 0u) {
                up = src[here - n];
            }
            var down = 0.0;
            if (row + 1u < band.grid_rows) {
                down = src[here + n];
            }
            let laplacian = fma(-4.0, centre, (left + right) + (up + down));
            dst[band.out_shift + r * n + c] = fma(DIFFUSION, laplacian, centre);
        }
    }
}
