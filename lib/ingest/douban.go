package ingest

// ReadDouban reads a DTCDR / GA-DTCDR ratings.dat: "user \t item \t rating",
// integer ratings 1-5, no header, LF, the last line without a newline. The
// book and music files give one person the same user id, so the two Douban
// domains should share params.Source.UserNamespace ("douban"); that is what
// makes their users overlap after namespacing.
func ReadDouban(in Input, sink Sink, rep *Report) error {
	return run(in, FormatDouban, rep, func(d *domainCtx) error {
		return d.withFile("ratings", modeTab, func(f *fileCtx) error { return d.readDoubanRatings(f, sink) })
	})
}

func (d *domainCtx) readDoubanRatings(f *fileCtx, sink Sink) error {
	f.ncols = 3
	return d.readRatings(f, ratingLayout{user: 0, item: 1, rating: 2, ts: -1,
		names: [4]string{"user", "item", "rating", ""}, scale: oneToFive}, sink)
}
