// Package baselines holds the fitted, closed-form recommenders: the
// reference predictors (global mean, item mean, popularity, user bias),
// the strong item-based and factorisation peers a new user can be served
// by from the support alone (EASE, ItemKNN and its rating form
// KNNBaseline, RP3beta, PureSVD, a biased matrix factorisation with a
// closed-form fold-in), and the co-occurrence factors the trained models'
// ranking term uses. One file per model.
//
// Every model here is fitted per domain on meta-train users' rows only
// (NewTrain refuses any other episode) and implements recommend.Scorer
// over the domain's dense item indices. The harness (lib/eval) tunes their
// hyperparameters on meta-validation users and scores them with the same
// engine as every trained model; the trainer (lib/meta, lib/pipeline) calls
// the bias fit and the co-occurrence factors.
package baselines
