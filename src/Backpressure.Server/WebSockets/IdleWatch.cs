namespace Backpressure.Server.WebSockets;

/// <summary>
/// Ends a session in which nothing has moved for the idle timeout: a connection that neither sends nor is sent
/// anything holds a socket, a queue and a session slot for as long as its client likes. Activity is a counter the
/// session already keeps (messages received and delivered), read four times per timeout, so that a session is ended
/// between one and one and a quarter timeouts after its last message, at no cost per message.
/// </summary>
internal sealed class IdleWatch : IDisposable
{
    private readonly TimeSpan _timeout;
    private readonly TimeProvider _time;
    private readonly Func<long> _activity;
    private readonly Action _onIdle;
    private readonly ITimer _timer;
    private long _lastActivity = -1;
    private long _lastChange;

    public IdleWatch(TimeSpan timeout, TimeProvider time, Func<long> activity, Action onIdle)
    {
        _timeout = timeout;
        _time = time;
        _activity = activity;
        _onIdle = onIdle;
        _lastChange = time.GetTimestamp();
        TimeSpan period = timeout / 4;
        _timer = time.CreateTimer(_ => Check(), null, period, period);
    }

    public void Dispose() => _timer.Dispose();

    private void Check()
    {
        long activity = _activity();
        if (activity != _lastActivity)
        {
            _lastActivity = activity;
            _lastChange = _time.GetTimestamp();
        }
        else if (_time.GetElapsedTime(_lastChange) >= _timeout)
        {
            _timer.Dispose();
            _onIdle();
        }
    }
}
