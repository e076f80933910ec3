package dev.burrow.netlab;

import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * JUnit extension applying {@link NetLabSupport#require()} before a class and before each test.
 * Use it through {@link RequiresNetLab}.
 */
public final class NetLabExtension implements BeforeAllCallback, BeforeEachCallback {
    @Override
    public void beforeAll(ExtensionContext context) {
        NetLabSupport.require();
    }

    @Override
    public void beforeEach(ExtensionContext context) {
        NetLabSupport.require();
    }
}
