namespace Backpressure.Adaptive;

/// <summary>
/// Backpressure's adaptive limit: it finds how much concurrency the work can take by watching the
/// queueing delay that admitted work adds to its own latency, and cuts only when the limit is what
/// lets that queue form.
/// </summary>
/// <remarks>
/// <para>Each decision rests on the samples of permits granted since the limit last moved (at least
/// <see cref="QueueingDelayLimitOptions.MinSamplesPerUpdate"/>, or the limit's worth when it is lower, after
/// <see cref="QueueingDelayLimitOptions.UpdateInterval"/> or at once with
/// <see cref="QueueingDelayLimitOptions.SamplesPerUpdate"/>), so the loop runs once per round trip
/// at the slowest and every few milliseconds for fast work, not on Netflix's 1 s windows. It compares
/// their mean latency <c>r</c> with the no-load latency <c>B</c>:</para>
/// <list type="bullet">
/// <item><b>No queue</b> (<c>r ≤ B·(1 + GrowthTolerance)</c>): the limit grows, doubling per decision
/// in slow start (from cold, and again after an idle spell) and by 5 % after the first queue, as
/// TCP grows its window. It never grows past <see cref="QueueingDelayLimitOptions.HeadroomFactor"/> times the most
/// permits recently in flight, so it does not drift upward while the application is the bottleneck
/// (Netflix's Gradient2 does, its issue #134) and falls back to that ceiling when load drops.</item>
/// <item><b>A queue, and the limit binds</b> (<c>r &gt; B·(1 + QueueingThreshold)</c> and permits
/// were granted up to the limit): the limit is cut in proportion, <c>L ← L·(1 + GrowthTolerance)·B/r</c>,
/// at most halving per decision. At saturation latency grows with the work admitted (<c>r/B ≈ L/L*</c>),
/// so one cut lands near the ideal limit <c>L*</c> instead of creeping toward it by 10 % a second.</item>
/// <item><b>A queue, and the limit does not bind</b>: the limit holds. Work slower than its baseline
/// while the limit stops nothing means a dependency got slower, not that this service is saturated:
/// in-flight work rises with it (Little's law) and throughput still follows the offered load, so a
/// cut would only refuse work that would have been served (Netflix's issue #171).</item>
/// <item>Between the two thresholds the limit holds.</item>
/// <item><b>A small service's band is wider</b>: in-flight work fluctuates by about the square root of
/// its mean, so the queue that keeps every worker busy grows as <c>√n</c> (Halfin and Whitt's
/// square-root staffing), not in proportion to <c>n</c>, the in-flight at no load. Where
/// <see cref="QueueingDelayLimitOptions.VariabilityAllowance"/><c>/√n</c> exceeds the growth
/// tolerance, both thresholds widen by that factor (below 32 in flight with the defaults).</item>
/// <item><b>A cut that latency ignored</b> (a quarter or more, after which latency fell by under a
/// quarter as much in proportion): at saturation latency follows the limit, so a cut that did not
/// move it took work away without shrinking any queue of ours. It is undone, and that latency becomes
/// the no-load latency: the work itself got slower. A run of cuts in a row is judged as a whole as
/// well as cut by cut, and undone to where it began: when latency drifts up a little after each cut,
/// no cut alone can be judged, and a slower dependency would otherwise walk the limit down to its
/// floor and hold it there.</item>
/// <item><b>A cut that left no queue at all</b> went deeper than the queue was (a pause or a burst
/// made one look standing): the next decision wins back half the lost ground at once.</item>
/// </list>
/// <para><b>The no-load latency</b> is the lowest smoothed batch mean of the last
/// <see cref="QueueingDelayLimitOptions.BaselineWindow"/> among batches whose in-flight stayed under
/// half the limit (Netflix's app-limited test), else the last one learned. It is learned from live
/// traffic, never by shedding on purpose (Envoy's minRTT windows pin the limit to measure it), and
/// never from batches near the limit: their latency includes the queue the limit allows, and learning
/// from it lets the baseline, and with it the limit, creep upward under sustained overload.</para>
/// <para><b>Dropped work</b> (failed or timed out) is left out of the latency mean, where its
/// latency would mislead (Netflix's issue #176), but a decision at the limit in which over a quarter
/// of the samples dropped halves the limit.</para>
/// <para><b>A resource signal</b> (<see cref="QueueingDelayLimitOptions.ResourceUsage"/>), such as the
/// GC heap's use of its hard limit, holds memory-bound work below exhaustion before it fails: above
/// <see cref="QueueingDelayLimitOptions.ResourceUsageLimit"/> the limit is cut in proportion to the
/// excess, by at most 30 % a decision (CUBIC's decrease: a backlog such as the thread pool's delay says
/// how long the work has been past its limit, not how far), within 10 % below it the limit does not
/// grow, and below that growth goes at most half the way to where usage in proportion to in-flight
/// would reach the limit (so slow start cannot double past it, and a reading older than the in-flight
/// it is set against cannot aim far past it). Growth is judged on the highest of the last eight
/// readings since the limit last fell, since a reading such as the GC heap's dates from the last
/// collection and swings with what was in flight then; and the first reading from cold or after an
/// idle spell lets nothing grow, since it predates the work just admitted. After such a
/// cut the limit grows as TCP's BIC and CUBIC do after a loss: back to within 10 % of where the resource
/// ran out in a few decisions, then past it at a quarter of the usual pace, because a signal such as the
/// thread pool's delay shows exhaustion late and in spikes, and probing past it at full pace made the
/// limit saw between overshoot and deep cuts.</para>
/// </remarks>
public sealed class QueueingDelayLimit : ConcurrencyLimitAlgorithm
{
    private const int WindowBuckets = 10;
    private const double BaselineSmoothing = 0.25;
    private const double DroppedShareToCut = 0.25;
    private const double GrowthStep = 0.05;
    private const double CeilingForgottenPast = 1.25;
    private const int RecentUsageReadings = 8;
    private const double ResourceCutFloor = 0.7;
    private static readonly double MinJudgedCut = Math.Log(4.0 / 3);

    private readonly QueueingDelayLimitOptions _options;
    private readonly long _bucketTicks;
    private readonly long _intervalTicks;
    private readonly long[] _bucketIndex = new long[WindowBuckets];
    private readonly double[] _bucketBaseline = new double[WindowBuckets];
    private readonly int[] _bucketPeak = new int[WindowBuckets];
    private readonly double[] _recentUsage = new double[RecentUsageReadings];

    private double _limit;
    private bool _slowStart = true;
    private long _changedAt = long.MinValue;
    private long _intervalStart = long.MinValue;
    private long _lastSampleAt = long.MinValue;
    private double _smoothedLatency;
    private double _cutFrom;
    private double _latencyBeforeCut;
    private double _runFrom;
    private double _latencyBeforeRun;
    private double _recoverTo;
    private double _resourceCeiling;
    private long _resourceCeilingAt;
    private double _heldBaseline;
    private int _nextUsageSlot;
    private bool _awaitingFreshUsage = true;

    // The decision in progress: samples granted since the limit last moved.
    private long _weightedCount;
    private long _droppedCount;
    private double _latencySum;
    private int _sampleCount;
    private int _droppedSamples;
    private int _peakInFlight;
    private long _inFlightSum;

    /// <summary>Creates the algorithm.</summary>
    /// <param name="options">Its settings; null for the defaults. Validated here.</param>
    /// <exception cref="ArgumentException">An option is out of range; the message names it.</exception>
    public QueueingDelayLimit(QueueingDelayLimitOptions? options = null)
    {
        _options = options ?? new QueueingDelayLimitOptions();
        _options.Validate();
        _limit = _options.InitialLimit;
        _bucketTicks = Math.Max(1, _options.BaselineWindow.Ticks / WindowBuckets);
        _intervalTicks = _options.UpdateInterval.Ticks;
        Array.Fill(_bucketIndex, long.MinValue);
    }

    /// <inheritdoc />
    public override int Limit => (int)_limit;

    /// <summary>The no-load latency the algorithm currently believes in, or zero before it has one.</summary>
    public TimeSpan NoLoadLatency => TimeSpan.FromTicks((long)Baseline());

    /// <inheritdoc />
    public override int MaxLimit => _options.MaxLimit;

    /// <inheritdoc />
    public override int Update(in ConcurrencySample sample)
    {
        long now = sample.CompletedAt.Ticks;
        if (_lastSampleAt != long.MinValue && now - _lastSampleAt > IdleTicks())
        {
            // After an idle spell the old picture of capacity is stale: probe quickly again.
            _slowStart = true;
            _awaitingFreshUsage = true;
        }

        _lastSampleAt = now;
        if (_intervalStart == long.MinValue)
        {
            _intervalStart = now;
        }

        NotePeak(now, sample.InFlight);
        _peakInFlight = Math.Max(_peakInFlight, sample.InFlight);

        // Only permits granted under the current limit show what the current limit does.
        if (sample.AcquiredAt.Ticks >= _changedAt)
        {
            _weightedCount += sample.Weight;
            if (sample.Dropped)
            {
                _droppedCount += sample.Weight;
                _droppedSamples++;
            }
            else
            {
                _latencySum += sample.Latency.Ticks;
                _inFlightSum += sample.InFlight;
                _sampleCount++;
            }
        }

        // Below MinSamplesPerUpdate permits, waiting for that many samples would take several round
        // trips per decision (five at a limit of 1): one limit's worth, a full round trip, is enough.
        int counted = _sampleCount + _droppedSamples;
        bool due = counted >= _options.SamplesPerUpdate
            || (counted >= Math.Min(_options.MinSamplesPerUpdate, Limit) && now - _intervalStart >= _intervalTicks);
        if (due)
        {
            Decide(now);
        }

        return Limit;
    }

    private void Decide(long now)
    {
        int limit = Limit;
        // At the limit: some permit was granted with the limit (nearly) full. Sampled in-flight counts
        // miss the exact peak now and then, so within a tenth of the limit counts.
        bool binding = _peakInFlight >= limit - Math.Max(1, limit / 10);
        double droppedShare = _weightedCount == 0 ? 0 : (double)_droppedCount / _weightedCount;
        double next = _limit;

        double cutFrom = _cutFrom;
        _cutFrom = 0;
        double runFrom = _runFrom;
        _runFrom = 0;
        double recoverTo = _recoverTo;
        _recoverTo = 0;
        if (_sampleCount > 0)
        {
            double mean = _latencySum / _sampleCount;
            if ((cutFrom > _limit && LatencyIgnoredTheCut(cutFrom, _latencyBeforeCut, mean))
                || (runFrom > _limit && LatencyIgnoredTheCut(runFrom, _latencyBeforeRun, mean)))
            {
                // The cut took work away without taking latency away: no queue of ours was there to
                // shrink, the work itself got slower. Undo it and take this latency as the new baseline.
                next = Math.Max(cutFrom, runFrom);
                ResetBaseline(now, mean);
            }
            else
            {
                _smoothedLatency = _smoothedLatency == 0 ? mean : _smoothedLatency + (BaselineSmoothing * (mean - _smoothedLatency));
                if (_peakInFlight * 2 <= limit || Baseline() == 0)
                {
                    // Only work well clear of the limit shows the no-load latency (Netflix's app-limited
                    // test, in-flight under half the limit): near the limit, latency includes the queue
                    // the limit allows, and learning from it would let the baseline (and so the limit)
                    // creep upward under sustained overload.
                    NoteBaseline(now, _smoothedLatency);
                }

                double ratio = mean / Math.Max(1, Baseline());
                double widening = VariabilityWidening(ratio);
                double growthTolerance = _options.GrowthTolerance * widening;
                if (ratio <= 1 + growthTolerance)
                {
                    if (recoverTo > _limit)
                    {
                        // The cut (for latency or a resource) left no queue at all, so it went deeper
                        // than the queue was (a pause or a burst made it look standing): win back half
                        // the lost ground at once.
                        next = Math.Sqrt(_limit * recoverTo);
                    }
                    else if (_slowStart)
                    {
                        next = _limit * 2;
                    }
                    else
                    {
                        next = _limit + Math.Max(1, _limit * GrowthStep);
                    }
                }
                else
                {
                    EndSlowStart();
                    if (ratio > 1 + (_options.QueueingThreshold * widening) && binding)
                    {
                        next = _limit * Math.Max(0.5, (1 + growthTolerance) / ratio);
                        _cutFrom = _limit;
                        _latencyBeforeCut = mean;

                        // A run of cuts is judged as a whole too: each cut alone may be too noisy to
                        // judge, yet a dependency that got slower must not walk the limit down to its floor.
                        if (runFrom <= _limit)
                        {
                            // This cut begins a run.
                            runFrom = _limit;
                            _latencyBeforeRun = mean;
                        }

                        _runFrom = runFrom;

                        _recoverTo = _limit;
                    }
                }
            }
        }

        if (binding && droppedShare > DroppedShareToCut)
        {
            EndSlowStart();
            next = Math.Min(next, _limit * 0.5);
        }

        if (_options.ResourceUsage is { } usage)
        {
            double used = usage();
            double recentHigh = NoteUsage(used);
            bool firstReading = _awaitingFreshUsage;
            _awaitingFreshUsage = false;
            if (used >= _options.ResourceUsageLimit)
            {
                // In proportion to the excess, but by at most CUBIC's 30 % a decision. A level such as the
                // heap's says how far past its limit the work is, and its cuts are shallow; a backlog such
                // as the thread pool's delay says how long the work has been past it: on the reference server a
                // proportional cut at 2.8 times its budget took the limit from 22 to 8, where the core serves 25.
                // The cut is from what was in flight when the resource ran out, which is also where it ran out.
                _resourceCeiling = Math.Min(_limit, Math.Max(1, _peakInFlight));
                double cut = Math.Max(ResourceCutFloor, _options.ResourceUsageLimit / used);
                next = Math.Min(next, _resourceCeiling * cut);
                _recoverTo = Math.Max(_recoverTo, _limit);
                _resourceCeilingAt = now;
                EndSlowStart();
            }
            else if (recentHigh >= _options.ResourceUsageLimit * 0.9 || firstReading)
            {
                // The first reading from cold or after an idle spell predates the work now in flight (the
                // GC heap's dates from the last collection, before the calls just admitted had allocated):
                // set against that work it would aim far past the limit, so growth waits for the next.
                next = Math.Min(next, _limit);
            }
            else if (next > _limit && recentHigh > 0)
            {
                // Growth (slow start's doubling above all) never aims past the resource: taking
                // usage as proportional to what is in flight, it goes at most half the way to the
                // in-flight that would reach the usage limit. Half, because a reading may be older than
                // the in-flight it is set against (the GC heap's is taken at the last collection), and
                // an old, low reading would aim past the limit; halving the distance each decision
                // still closes it in a few.
                double peak = Math.Max(1, _peakInFlight);
                double reach = peak * _options.ResourceUsageLimit / recentHigh;
                next = Math.Max(_limit, Math.Min(next, peak + ((reach - peak) / 2)));
            }
        }

        if (next > _limit && _resourceCeiling > 0)
        {
            next = GrowthUnderTheResourceCeiling(now, next);
        }

        // Growth stops at a multiple of what has really been in flight lately.
        double ceiling = Math.Max(_options.MinLimit, _options.HeadroomFactor * RecentPeak(now));
        if (next > _limit)
        {
            next = Math.Min(next, Math.Max(_limit, ceiling));
        }
        else if (_limit > ceiling)
        {
            next = Math.Min(next, ceiling);
        }

        next = Math.Clamp(next, _options.MinLimit, _options.MaxLimit);
        if ((int)next != limit)
        {
            _changedAt = now;
        }

        if (next < _limit)
        {
            // Readings taken at a higher limit say nothing about the lower one.
            Array.Clear(_recentUsage);
        }

        _limit = next;
        _intervalStart = now;
        _weightedCount = 0;
        _droppedCount = 0;
        _latencySum = 0;
        _sampleCount = 0;
        _inFlightSum = 0;
        _droppedSamples = 0;
        _peakInFlight = 0;
    }

    /// <summary>
    /// Records a resource reading and returns the highest of the last few since the limit last fell,
    /// which is what growth is judged on. A reading such as the GC heap's dates from the last
    /// collection, so at a steady limit it swings with how much was in flight then: on
    /// <c>bp demo</c>'s memory-bound work, anything from 120 to 168 MiB at a steady limit of 20.
    /// Growth on the lowest of them took the limit to where the heap ran out; judged on the highest,
    /// it stops short instead. Eight, not four: with four, all of them came from lulls now and then
    /// (a limit of 20 grew to 21 or 22, 168–176 MiB of buffers under a 200 MiB heap, and 3 of 8 demo-like
    /// runs lost calls), where eight, about four seconds of that work, lost none in 16.
    /// </summary>
    private double NoteUsage(double used)
    {
        _recentUsage[_nextUsageSlot] = used;
        _nextUsageSlot = (_nextUsageSlot + 1) % RecentUsageReadings;
        return _recentUsage.Max();
    }

    /// <summary>
    /// Growth after a cut for the resource, as TCP's BIC and CUBIC grow a window after a loss: quickly
    /// back to just under where the resource ran out (halving the distance each decision), then past
    /// it only slowly. A resource signal such as the thread pool's delay shows exhaustion late and in
    /// spikes, so probing past the ceiling at the usual pace overshoots, and the cut that follows
    /// goes deep: the limit saws between the two, and both its peaks (queueing) and its troughs
    /// (idle capacity) cost. The ceiling is forgotten once the limit is well past it or after a
    /// <see cref="QueueingDelayLimitOptions.BaselineWindow"/> with no cut for the resource.
    /// </summary>
    private double GrowthUnderTheResourceCeiling(long now, double next)
    {
        if (now - _resourceCeilingAt > _options.BaselineWindow.Ticks || _limit > CeilingForgottenPast * _resourceCeiling)
        {
            _resourceCeiling = 0;
            return next;
        }

        // Within 10 % of the ceiling, as within 10 % of the resource's own limit, is where the limit settles.
        double plateau = 0.9 * _resourceCeiling;
        if (_limit < plateau)
        {
            return Math.Max(Math.Min(next, plateau), _limit + ((plateau - _limit) / 2));
        }

        // Past it, a quarter of the usual step: at 20 permits, one more every four decisions.
        return _limit + Math.Min(next - _limit, Math.Max(0.25, GrowthStep * _limit / 4));
    }

    /// <summary>
    /// How much wider than the proportional thresholds a small service's are. In-flight work
    /// fluctuates by about the square root of its mean, so the queue that keeps every worker busy
    /// grows as <c>√n</c>: a service with 16 in flight at no load needs more than a fifth of 16
    /// queued, one with 1,000 far less than a fifth of 1,000 (where the proportional threshold stands,
    /// above the noise of a batch's mean).
    /// </summary>
    private double VariabilityWidening(double ratio)
    {
        if (_options.VariabilityAllowance == 0 || _options.GrowthTolerance == 0)
        {
            return 1;
        }

        // Little's law: at the same throughput, what would be in flight without the queue the ratio shows.
        double noLoadInFlight = Math.Max(1, (double)_inFlightSum / _sampleCount / ratio);
        return Math.Max(1, _options.VariabilityAllowance / (_options.GrowthTolerance * Math.Sqrt(noLoadInFlight)));
    }

    /// <summary>
    /// Whether latency failed to follow a cut. At saturation latency is proportional to the work
    /// admitted (<c>r ∝ L</c>, elasticity 1); when a dependency is slower, latency is the same
    /// whatever the limit (elasticity 0). Below an elasticity of one quarter the cut is judged wrong;
    /// latency that rose after the cut gives no verdict.
    /// </summary>
    private bool LatencyIgnoredTheCut(double cutFrom, double latencyBefore, double latencyAfter)
    {
        double limitChange = Math.Log(cutFrom / _limit);
        double latencyChange = Math.Log(latencyBefore / Math.Max(1, latencyAfter));

        // Latency that rose after a cut was moved by something else (a pause, a burst of slow
        // work): no verdict on the limit can be drawn from it.
        // Only a deep cut (a quarter or more) is judged: near the ideal limit latency flattens onto
        // its no-load floor, so small cuts there show little change even at saturation.
        return limitChange >= MinJudgedCut && latencyChange >= 0 && latencyChange / limitChange < 0.25;
    }

    private void ResetBaseline(long now, double latency)
    {
        Array.Fill(_bucketBaseline, 0);
        _heldBaseline = latency;
        _smoothedLatency = latency;
        NoteBaseline(now, latency);
        EndSlowStart();
    }

    private void EndSlowStart() => _slowStart = false;

    // Read on every sample, so it uses the baseline last computed rather than scanning the window again.
    private long IdleTicks() => Math.Max(TimeSpan.TicksPerSecond, (long)(10 * _heldBaseline));

    private void NotePeak(long now, int inFlight)
    {
        int slot = Slot(now);
        _bucketPeak[slot] = Math.Max(_bucketPeak[slot], inFlight);
    }

    private void NoteBaseline(long now, double latency)
    {
        int slot = Slot(now);
        _bucketBaseline[slot] = _bucketBaseline[slot] == 0 ? latency : Math.Min(_bucketBaseline[slot], latency);
    }

    private int Slot(long now)
    {
        long index = now / _bucketTicks;
        int slot = (int)(index % WindowBuckets);
        if (_bucketIndex[slot] != index)
        {
            _bucketIndex[slot] = index;
            _bucketBaseline[slot] = 0;
            _bucketPeak[slot] = 0;
        }

        return slot;
    }

    private double Baseline()
    {
        double best = 0;
        long newest = _lastSampleAt / _bucketTicks;
        for (int i = 0; i < WindowBuckets; i++)
        {
            if (_bucketIndex[i] > newest - WindowBuckets && _bucketBaseline[i] > 0 && (best == 0 || _bucketBaseline[i] < best))
            {
                best = _bucketBaseline[i];
            }
        }

        // With no fresh low-load sample in the window (a long spell at the limit), the last
        // baseline stands: only a cut that latency ignores moves it then.
        if (best > 0)
        {
            _heldBaseline = best;
        }

        return _heldBaseline;
    }

    private int RecentPeak(long now)
    {
        int peak = 0;
        long newest = now / _bucketTicks;
        for (int i = 0; i < WindowBuckets; i++)
        {
            if (_bucketIndex[i] > newest - WindowBuckets)
            {
                peak = Math.Max(peak, _bucketPeak[i]);
            }
        }

        return peak;
    }
}
