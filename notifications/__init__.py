"""Messages to victims: rendering, channels (SendGrid, Twilio), the outbox dispatcher."""
