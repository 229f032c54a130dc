"""The worker's own logic: reading inputs and writing outputs in the declared type and length."""

import array
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import hpclab_worker


class WriteOutputTest(unittest.TestCase):
    def setUp(self):
        self.folder = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.folder.name, "out.bin")

    def tearDown(self):
        self.folder.cleanup()

    def spec(self, dtype, shape):
        return {"name": "out", "dtype": dtype, "shape": shape, "path": self.path}

    def test_a_list_is_stored_in_the_declared_type(self):
        hpclab_worker.write_output(self.spec("float32", [3]), [0.1, 2.0, -3.5], None)
        stored = array.array("f")
        with open(self.path, "rb") as file:
            stored.frombytes(file.read())
        self.assertEqual(stored.tolist(), array.array("f", [0.1, 2.0, -3.5]).tolist())

    def test_a_scalar_is_one_element(self):
        hpclab_worker.write_output(self.spec("uint32", [1]), 7, None)
        with open(self.path, "rb") as file:
            self.assertEqual(len(file.read()), 4)

    def test_a_wrong_length_is_refused_and_leaves_no_file(self):
        with self.assertRaises(ValueError):
            hpclab_worker.write_output(self.spec("float32", [4]), [1.0, 2.0], None)
        self.assertFalse(os.path.exists(self.path))

    def test_inputs_read_back_as_lists(self):
        with open(self.path, "wb") as file:
            file.write(array.array("I", [1, 2, 3]).tobytes())
        self.assertEqual(hpclab_worker.read_list(self.spec("uint32", [3])), [1, 2, 3])


if __name__ == "__main__":
    unittest.main()
