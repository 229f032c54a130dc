//! Placeholder: the GPU slab is being written.
