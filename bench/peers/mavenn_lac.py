"""MAVE-NN 1.1.4's lac thermodynamic fit, run by bench/biophysics_lac.py in MAVE-NN's own venv.

Follows MAVE-NN's tutorial 5 (promoter biophysical G-P maps) as DATA.md describes the reference
run: the 4-state CRP/RNAP ThermodynamicLayer as a custom G-P map (CRP 1..26, RNAP 34..74, dG_I
initialised at -4 kcal/mol, theta_regularization 0.1), MPA measurement process, learning rate 5e-4,
batch 100, up to 2000 epochs, early stopping with patience 25, on the data set's own
training/validation/test split. Two changes to the tutorial's layer, both needed to run under
MAVE-NN 1.1.4 with Keras 3 (TensorFlow 2.21): the layer takes ``alphabet`` (1.1.4's GPMapLayer
requires it; the tutorial's ``C=4``) and defines ``build`` like MAVE-NN's own layers. Writes
``phi`` of the test set (``.npy``) so that the caller scores both tools with one estimator,
and prints one JSON line: fit seconds, epochs, dG_I (kcal/mol) and
MAVE-NN's own test predictive information.

Usage (inside the MAVE-NN venv):
    python mavenn_lac.py DATA.csv.gz PHI_OUT.npy [--epochs N] [--seed S]
"""

import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import mavenn  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import tensorflow as tf  # noqa: E402
import tensorflow.keras.backend as K  # noqa: E402
from mavenn.src.layers.gpmap import GPMapLayer  # noqa: E402
from tensorflow.keras.initializers import Constant  # noqa: E402


class ThermodynamicLayer(GPMapLayer):
    """MAVE-NN tutorial 5's four-state lac model (free, CRP, RNAP, CRP+RNAP with dG_I)."""

    def __init__(self, tf_start, tf_end, rnap_start, rnap_end, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.tf_start, self.tf_end = tf_start, tf_end
        self.L_tf = tf_end - tf_start
        self.rnap_start, self.rnap_end = rnap_start, rnap_end
        self.L_rnap = rnap_end - rnap_start
        self.theta_tf_0 = self.add_weight(
            name="theta_tf_0",
            shape=(1,),
            initializer=Constant(1.0),
            trainable=True,
            regularizer=self.regularizer,
        )
        self.theta_rnap_0 = self.add_weight(
            name="theta_rnap_0",
            shape=(1,),
            initializer=Constant(1.0),
            trainable=True,
            regularizer=self.regularizer,
        )
        shape = (1, self.L_tf, self.C)
        self.theta_tf = self.add_weight(
            name="theta_tf",
            shape=shape,
            initializer=Constant(np.random.randn(*shape) / np.sqrt(self.L_tf)),
            trainable=True,
            regularizer=self.regularizer,
        )
        shape = (1, self.L_rnap, self.C)
        self.theta_rnap = self.add_weight(
            name="theta_rnap",
            shape=shape,
            initializer=Constant(np.random.randn(*shape) / np.sqrt(self.L_rnap)),
            trainable=True,
            regularizer=self.regularizer,
        )
        self.theta_dG_I = self.add_weight(
            name="theta_dG_I",
            shape=(1,),
            initializer=Constant(-4),
            trainable=True,
            regularizer=self.regularizer,
        )

    def build(self, input_shape):
        """Weights are made in ``__init__`` (as MAVE-NN's own layers do under Keras 3)."""
        self.built = True

    def call(self, x):
        """Activity: the occupancy of the two RNAP-bound states (energies in kcal/mol)."""
        kT = 0.616
        x_tf = tf.reshape(
            x[:, self.C * self.tf_start : self.C * self.tf_end], [-1, self.L_tf, self.C]
        )
        x_rnap = tf.reshape(
            x[:, self.C * self.rnap_start : self.C * self.rnap_end], [-1, self.L_rnap, self.C]
        )
        G_C = self.theta_tf_0 + tf.reshape(K.sum(self.theta_tf * x_tf, axis=[1, 2]), shape=[-1, 1])
        G_R = self.theta_rnap_0 + tf.reshape(
            K.sum(self.theta_rnap * x_rnap, axis=[1, 2]), shape=[-1, 1]
        )
        G_I = self.theta_dG_I
        num = K.exp(-G_R / kT) + K.exp(-(G_C + G_R + G_I) / kT)
        den = 1.0 + K.exp(-G_C / kT) + K.exp(-G_R / kT) + K.exp(-(G_C + G_R + G_I) / kT)
        return num / den


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("phi_out")
    ap.add_argument("--epochs", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    np.random.seed(args.seed)
    tf.random.set_seed(args.seed)
    data_df = pd.read_csv(args.data)
    trainval_df, test_df = mavenn.split_dataset(data_df)
    y_cols = [c for c in trainval_df.columns if c.startswith("ct_")]
    length = len(data_df["x"].iloc[0])
    model = mavenn.Model(
        L=length,
        Y=len(y_cols),
        alphabet="dna",
        regression_type="MPA",
        gpmap_type="custom",
        gpmap_kwargs={
            "tf_start": 1,
            "tf_end": 27,
            "rnap_start": 34,
            "rnap_end": 75,
            "L": length,
            "alphabet": ["A", "C", "G", "T"],
            "theta_regularization": 0.1,
        },
        custom_gpmap=ThermodynamicLayer,
    )
    model.set_data(
        x=trainval_df["x"],
        y=trainval_df[y_cols],
        validation_flags=trainval_df["validation"],
        shuffle=True,
    )
    t0 = time.perf_counter()
    print(f"FIT_START {time.time()}", file=sys.stderr, flush=True)  # read if the caller stops us
    model.fit(
        learning_rate=5e-4,
        epochs=args.epochs,
        batch_size=100,
        early_stopping=True,
        early_stopping_patience=25,
        linear_initialization=False,
        verbose=False,
    )
    seconds = time.perf_counter() - t0
    phi = np.asarray(model.x_to_phi(test_df["x"]), dtype=np.float64).ravel()
    np.save(args.phi_out, phi)
    i_pred, di_pred = model.I_predictive(x=test_df["x"], y=test_df[y_cols])
    dg = float(np.ravel(model.layer_gpmap.get_params()["theta_dG_I"])[0])
    print(
        json.dumps(
            {
                "fit_s": round(seconds, 1),
                "epochs": len(model.history["loss"]),
                "dG_I_kcal_per_mol": round(dg, 3),
                "mavenn_I_pred_bits": round(float(i_pred), 4),
                "mavenn_I_pred_sd_bits": round(float(di_pred), 4),
                "tensorflow": tf.__version__,
                "threads": {
                    "intra": tf.config.threading.get_intra_op_parallelism_threads(),
                    "inter": tf.config.threading.get_inter_op_parallelism_threads(),
                },
            }
        )
    )


if __name__ == "__main__":
    main()
