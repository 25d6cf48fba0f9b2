package eval

import (
	"math"
	"strings"
	"testing"

	"github.com/crossrec/crossrec/lib/split"
	"github.com/crossrec/crossrec/lib/tasks"
)

func nr(item int32, norm float32) tasks.Rated { return tasks.Rated{Item: item, Norm: norm} }

// handTrain: two training users of domain 0 (4 items) and one of domain 1.
//
//	u1: item0 1.0, item1 0.5      u2: item0 0.5, item2 0.0      (domain 0)
//	u3: item0 0.2                                               (domain 1)
func handTrain() []tasks.Episode {
	return []tasks.Episode{
		{Domain: "a", DomainIndex: 0, User: "u1", Group: split.Train, Support: []tasks.Rated{nr(0, 1)}, Query: []tasks.Rated{nr(1, 0.5)}},
		{Domain: "a", DomainIndex: 0, User: "u2", Group: split.Train, Support: []tasks.Rated{nr(0, 0.5)}, Query: []tasks.Rated{nr(2, 0)}},
		{Domain: "b", DomainIndex: 1, User: "u3", Group: split.Train, Support: []tasks.Rated{nr(0, 0.2)}, Query: nil},
	}
}

func near(t *testing.T, name string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 1e-6 {
		t.Errorf("%s = %.9f, want %.9f", name, got, want)
	}
}

func TestBaselinesByHand(t *testing.T) {
	s := Shrinkage{ItemMean: []float64{1, 1}, ItemBias: []float64{1, 1}, UserBias: []float64{2, 2}}
	b, err := FitBaselines(handTrain(), []int{4, 2}, s)
	if err != nil {
		t.Fatal(err)
	}
	// Domain a: mu = (1 + .5 + .5 + 0)/4 = .5.
	g, _ := b.GlobalMean.Score(0, nil, []int32{3, 0})
	near(t, "global mean", float64(g[0]), 0.5)
	near(t, "global mean b", float64(b.GlobalMean.Mu[1]), 0.2)
	// item0: .5 + ((1-.5)+(.5-.5))/(2+1); item1: .5 + 0/2; item2: .5 - .5/2; item3 unseen: mu.
	im, _ := b.ItemMean.Score(0, nil, []int32{0, 1, 2, 3})
	for i, want := range []float64{0.5 + 0.5/3, 0.5, 0.25, 0.5} {
		near(t, "item mean", float64(im[i]), want)
	}
	p, _ := b.Popularity.Score(0, nil, []int32{0, 1, 2, 3})
	for i, want := range []float64{2, 1, 1, 0} {
		near(t, "popularity", float64(p[i]), want)
	}
	// User bias: the fitted item biases satisfy the ridge fixed point of
	// the alternating steps with the training users' biases.
	ub := b.UserBias
	bi := ub.Bi[0]
	// b_u1 = ((1-.5-b0) + (.5-.5-b1)) / (2+2), b_u2 = ((.5-.5-b0) + (0-.5-b2)) / (2+2)
	bu1 := ((0.5 - bi[0]) + (0 - bi[1])) / 4
	bu2 := ((0 - bi[0]) + (-0.5 - bi[2])) / 4
	near(t, "b0 fixed point", bi[0], ((1-0.5-bu1)+(0.5-0.5-bu2))/(1+2))
	near(t, "b1 fixed point", bi[1], (0.5-0.5-bu1)/(1+1))
	near(t, "b2 fixed point", bi[2], (0-0.5-bu2)/(1+1))
	near(t, "b3 unseen", bi[3], 0)
	// A new user with support {item1: 1.0}: b_u = (1 - .5 - b1)/(2 + 1).
	sc, _ := ub.Score(0, []tasks.Rated{nr(1, 1)}, []int32{2, 3})
	bu := (1 - 0.5 - bi[1]) / 3
	near(t, "user bias item2", float64(sc[0]), 0.5+bi[2]+bu)
	near(t, "user bias item3", float64(sc[1]), 0.5+bu)
	// Empty support: the item-bias model.
	sc, _ = ub.Score(0, nil, []int32{2})
	near(t, "no support", float64(sc[0]), 0.5+bi[2])
	// Cross: source history in domain b (mu .2, b0^b) adds its residual.
	cs, _ := ub.ScoreCross(1, []tasks.Rated{nr(0, 0.6)}, 0, []tasks.Rated{nr(1, 1)}, []int32{3})
	buc := ((1 - 0.5 - bi[1]) + (0.6 - 0.2 - ub.Bi[1][0])) / (2 + 2)
	near(t, "cross user bias", float64(cs[0]), 0.5+buc)
	// Errors are values.
	if _, err := b.ItemMean.Score(0, nil, []int32{4}); err == nil {
		t.Error("candidate outside the catalogue accepted")
	}
	if _, err := b.GlobalMean.Score(5, nil, []int32{0}); err == nil {
		t.Error("unknown domain accepted")
	}
}

func TestBaselinesFitOnMetaTrainOnly(t *testing.T) {
	eps := handTrain()
	eps[1].Group = split.Test
	_, err := FitBaselines(eps, []int{4, 2}, Shrinkage{ItemMean: []float64{1, 1}, ItemBias: []float64{1, 1}, UserBias: []float64{1, 1}})
	if err == nil || !strings.Contains(err.Error(), "meta-train episodes only") {
		t.Errorf("a test episode in the fit: err %v", err)
	}
}

func TestLeaveOneDomainOutFallsBackToThePooledMean(t *testing.T) {
	eps := handTrain()[2:] // only domain b is trained
	b, err := FitBaselines(eps, []int{4, 2}, Shrinkage{ItemMean: []float64{1, 1}, ItemBias: []float64{1, 1}, UserBias: []float64{1, 1}})
	if err != nil {
		t.Fatal(err)
	}
	im, _ := b.ItemMean.Score(0, nil, []int32{0, 1})
	near(t, "item mean on the unseen domain", float64(im[0]), 0.2)
	near(t, "item mean on the unseen domain", float64(im[1]), 0.2)
}

func TestBaselinesBeatChanceOnStructuredData(t *testing.T) {
	// Sanity that the baselines are real baselines: item quality drives the
	// ratings, so item-mean must rank far above chance and user-bias must
	// beat the global mean on error.
	w := newWorld(300)
	d := w.data(t, 300, 200)
	r := newRunner(d, w.cfg)
	shrink, _, err := tune(d, &r.cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, err := FitBaselines(d.Train, []int{w.items}, shrink)
	if err != nil {
		t.Fatal(err)
	}
	gm, _ := ColdStart(d, w.cfg, b.GlobalMean, 1, 3)
	im, _ := ColdStart(d, w.cfg, b.ItemMean, 1, 3)
	ub, _ := ColdStart(d, w.cfg, b.UserBias, 1, 3)
	pop, _ := ColdStart(d, w.cfg, b.Popularity, 1, 3)
	if pop.Metrics["d"]["ndcg@10"] < 3*pop.Chance["d"]["ndcg@10"] {
		t.Errorf("popularity NDCG@10 %.4f is not well above chance %.4f", pop.Metrics["d"]["ndcg@10"], pop.Chance["d"]["ndcg@10"])
	}
	if im.Metrics["d"]["ndcg@10"] < 2*im.Chance["d"]["ndcg@10"] {
		t.Errorf("item-mean NDCG@10 %.4f is not above chance %.4f", im.Metrics["d"]["ndcg@10"], im.Chance["d"]["ndcg@10"])
	}
	if im.Metrics["d"]["mae"] >= gm.Metrics["d"]["mae"] {
		t.Errorf("item-mean MAE %.4f does not beat the global mean %.4f", im.Metrics["d"]["mae"], gm.Metrics["d"]["mae"])
	}
	if ub.Metrics["d"]["mae"] >= gm.Metrics["d"]["mae"] {
		t.Errorf("user-bias MAE %.4f does not beat the global mean %.4f", ub.Metrics["d"]["mae"], gm.Metrics["d"]["mae"])
	}
}
